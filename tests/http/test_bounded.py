"""Work per request is bounded: a slow evaluation is cut at its deadline and never stalls the others."""

import threading
import time

import httpx
import orjson

from tests.engine.test_bridge import write_bundle
from tests.support.service import client, running_service

SLOW = (
    "package acgs.constitutional\n\n"
    'evaluate := {"allow": true, "n": n} if {\n\tn := count(numbers.range(1, input.data.size))\n}\n'
)


def timed(call) -> tuple[object, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_slow_evaluation_is_denied_at_its_deadline_while_health_still_answers(tmp_path):
    bundle = write_bundle(tmp_path, SLOW)
    args = ("--bundle", str(bundle), "--eval-timeout-ms", "2000", "--no-cache")
    with running_service(*args) as url, client(url) as http:
        fast = http.post("/v1/evaluate", content=b'{"action": "a", "input_data": {"size": 10}}').json()
        assert fast["allow"] is True
        slow: dict = {}

        def ask_slow() -> None:
            body = b'{"action": "a", "input_data": {"size": 100000000}}'
            slow["answer"], slow["seconds"] = timed(lambda: http.post("/v1/evaluate", content=body).json())

        thread = threading.Thread(target=ask_slow)
        thread.start()
        time.sleep(0.3)  # the slow one is running now
        with client(url) as other:
            health, seconds = timed(lambda: other.get("/health"))
            assert health.status_code == 200
            assert seconds < 1.0, f"/health waited {seconds:.2f} s behind a slow evaluation"
        thread.join()
        answer = slow["answer"]
        assert answer["allow"] is False
        assert answer["violations"] == ["evaluation_error"]
        assert "timed out" in answer["reason"]
        assert slow["seconds"] < 2.0 + 2.0  # cut at its deadline, not run to the end


def test_a_clients_slow_query_never_stalls_the_service(tmp_path):
    with running_service("--eval-timeout-ms", "1000") as url, client(url) as http:
        slow: dict = {}
        body = orjson.dumps({"query": "x := count(numbers.range(1, 300000000))", "unknowns": []})

        def compile_slow() -> None:
            slow["response"], slow["seconds"] = timed(lambda: http.post("/v1/compile", content=body))

        thread = threading.Thread(target=compile_slow)
        thread.start()
        time.sleep(0.3)
        with client(url) as other:
            health, seconds = timed(lambda: other.get("/health"))
            assert health.status_code == 200 and seconds < 1.0
        thread.join()
        assert slow["response"].status_code == 500
        assert slow["response"].json()["code"] == "internal_error"
        assert slow["seconds"] < 1.0 + 2.0


def test_queries_that_do_not_compile_are_the_clients_error():
    with running_service() as url, client(url) as http:
        for query in ("", "x := y", "1 +"):
            response = http.post("/v1/compile", content=orjson.dumps({"query": query, "unknowns": []}))
            assert response.status_code == 400, (query, response.text)
            assert response.json()["code"] == "invalid_parameter"


def test_query_endpoints_can_be_switched_off():
    with running_service("--disable-query-endpoints") as url, httpx.Client(base_url=url) as http:
        response = http.post("/v1/compile", content=b'{"query": "x := 1"}')
        assert response.status_code == 403
        assert "disable-query-endpoints" in response.json()["message"]
