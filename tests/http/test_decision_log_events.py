"""Every decision on every path is logged once, with the decision id its response carries."""

import asyncio
import json
import os
import signal
from urllib.parse import quote

import httpx
import orjson
import pytest

from policy_engine.bench import servers
from policy_engine.bundle.locate import default_bundle
from policy_engine.config import Settings
from policy_engine.decision_logs.chain import verify
from policy_engine.decisions import Decided
from policy_engine.engine.bridge import NativeDecision
from policy_engine.http import acgs_endpoints
from policy_engine.http.asgi import Request
from policy_engine.http.opa_native import OpaNative
from policy_engine.metrics import Metrics
from tests.support.decision_logs import file_events, opa_console_events, opa_logging_to_console, wait_until

N = 6
PATH = "acgs/constitutional/evaluate"


def evaluate_body(n: int) -> dict:
    # n % 3: three distinct inputs, so that repeats are cache hits
    return {"action": "data.read", "agent_id": f"agent-{n % 3}", "context": {"agent": {"trust_level": 0.3 * (n % 3)}}}


@pytest.mark.timeout(120)
def test_n_requests_of_every_kind_give_exactly_n_events_with_their_decision_ids(tmp_path):
    log = tmp_path / "decisions.jsonl"
    answered: dict[str, str] = {}  # decision id -> kind
    with servers.running_service("--decision-log-file", str(log)) as service:
        with httpx.Client(base_url=service.url, timeout=10) as http:
            for n in range(N):
                for route in ("/v1/evaluate", "/api/v1/evaluate"):
                    answer = http.post(route, json=evaluate_body(n), headers={"x-request-id": f"req-{n}"}).json()
                    answered[answer["decision_id"]] = route
                answer = http.post(f"/v1/data/{PATH}", json={"input": evaluate_body(n)}).json()
                answered[answer["decision_id"]] = "data-v1"
                answer = http.post("/v1/data/acgs/undefined_rule", json={"input": {}}).json()
                answered[answer["decision_id"]] = "data-v1-undefined"
                assert http.post(f"/v0/data/{PATH}", json=evaluate_body(n)).status_code == 200
                batch = http.post("/v1/batch/evaluate", json={"requests": [evaluate_body(n), evaluate_body(n + 1)]})
                for item in batch.json()["responses"]:
                    answered[item["decision_id"]] = "batch-evaluate:" + batch.json()["batch_decision_id"]
                inputs = {"x": evaluate_body(n), "y": evaluate_body(n + 2)}
                batch = http.post(f"/v1/batch/data/{PATH}", json={"inputs": inputs})
                for item in batch.json()["responses"].values():
                    answered[item["decision_id"]] = "batch-data:" + batch.json()["batch_decision_id"]
        os.kill(service.pid, signal.SIGTERM)
        expected = len(answered) + N  # v0 answers carry no decision id
        assert wait_until(lambda: len(file_events(log)) >= expected)
    events = file_events(log)
    assert len(events) == expected
    by_id = {e["decision_id"]: e for e in events}
    assert len(by_id) == expected  # each decision once
    assert set(answered) <= set(by_id)
    assert sum(e["path"] == PATH and e["decision_id"] not in answered for e in events) == N  # v0's
    for identifier, kind in answered.items():
        event = by_id[identifier]
        if kind.startswith(("batch-evaluate:", "batch-data:")):
            assert event["batch_decision_id"] == kind.split(":", 1)[1]
        else:
            assert "batch_decision_id" not in event
        if kind == "data-v1-undefined":
            assert "result" not in event and event["path"] == "acgs/undefined_rule"
        else:
            assert event["path"] == PATH and "allow" in event["result"]
    hits = [e for e in events if e["cache_hit"]]
    assert hits and all(e["cache_tier"] == "l1" for e in hits)
    acgs = [e for e in events if answered.get(e["decision_id"]) in ("/v1/evaluate", "/api/v1/evaluate")]
    assert all(e["agent_id"] == e["input"]["agent_id"] and e["request_id"].startswith("req-") for e in acgs)
    assert all(e["input"]["evaluation_id"] == e["decision_id"] for e in acgs)
    assert all(e["rule"] == e["result"]["rule"] for e in events if "result" in e)
    assert all(e["bundles"] == {"bundle": {"revision": "constitutional-1.0.0"}} for e in events)
    assert all(e["labels"]["version"] and e["labels"]["id"] == events[0]["labels"]["id"] for e in events)
    assert all(e["requested_by"].startswith("127.0.0.1:") for e in events)
    assert verify([str(log)]).whole


def test_the_event_follows_opas_format(tmp_path):
    log = tmp_path / "decisions.jsonl"
    with servers.running_service("--decision-log-file", str(log), "--decision-log-labels", "app=acgs,env=test") as s:
        body = b'{"input": {"action": "data.read", "n": 2048.0000000000001}}'
        answer = httpx.post(f"{s.url}/v1/data/{PATH}?metrics=true", content=body).json()
        assert wait_until(lambda: len(file_events(log)) == 1)
    line = log.read_bytes()
    event = orjson.loads(line)
    assert event["decision_id"] == answer["decision_id"]
    assert event["labels"]["app"] == "acgs" and event["labels"]["env"] == "test"
    assert b'"n": 2048.0000000000001' in line  # the client's number, never through a float
    assert event["timestamp"].endswith("Z") and len(event["timestamp"].split(".")[1]) == 10  # nanoseconds
    assert event["metrics"]["timer_server_handler_ns"] > 0
    assert event["result"] == answer["result"]


NATIVE_INPUT = '{"action": "data.read", "n": 2048.0000000000001, "context": {"agent": {"trust_level": 0.5}}}'
# What OPA's own server answers in the service (opa_native): each one decision, or none.
NATIVE_REQUESTS = [
    ("GET", f"/v1/data/{PATH}?input={quote(NATIVE_INPUT)}", None),
    ("POST", f"/v1/data/{PATH}?explain=full", f'{{"input": {NATIVE_INPUT}}}'),
    ("POST", f"/v1/data/{PATH}?metrics=true&instrument=true", f'{{"input": {NATIVE_INPUT}}}'),
    ("GET", "/v1/data/acgs/nothing?pretty=true", None),
    ("POST", "/v1/query", json.dumps({"query": "x = data.acgs.config.max_harm_risk", "input": {"a": 1}})),
    ("GET", "/v1/query?q=data.acgs.config.max_harm_risk", None),
    ("POST", "/", NATIVE_INPUT),  # the default decision, undefined here: OPA's 404 and an error event
    ("GET", "/v1/policies", None),  # no decision
]
COMPARED_WITH_OPA = ("path", "query", "input", "result", "bundles")


def comparable(event: dict) -> dict:
    """What OPA's event and ours must share (ids, clocks, labels and bundle names are each their own)."""
    shared = {k: event.get(k) for k in COMPARED_WITH_OPA}
    shared["bundles"] = sorted(b["revision"] for b in (event.get("bundles") or {}).values())
    shared["error"] = "error" in event
    # OPA times its query API's handler after logging (0 or absent there); the service's events always have it.
    shared["metrics"] = sorted(set(event["metrics"]) - {"timer_server_handler_ns"})
    return shared


@pytest.mark.timeout(120)
def test_decisions_answered_by_opas_own_server_are_logged_once_each_as_opa_logs_them(tmp_path):
    log = tmp_path / "decisions.jsonl"
    answers: list[dict] = []
    with (
        opa_logging_to_console(default_bundle(), tmp_path) as (opa_url, opa_out),
        servers.running_service("--decision-log-file", str(log)) as service,
        httpx.Client(timeout=10) as http,
    ):
        for url in (opa_url, service.url):
            for method, target, body in NATIVE_REQUESTS:
                answer = http.request(method, url + target, content=body)
                if url == service.url:
                    answers.append(orjson.loads(answer.content))
        decided = len(NATIVE_REQUESTS) - 1
        assert wait_until(lambda: len(file_events(log)) >= decided and len(opa_console_events(opa_out)) >= decided)
    ours, theirs = file_events(log), opa_console_events(opa_out)
    assert len(ours) == len(theirs) == decided
    assert [comparable(e) for e in ours] == [comparable(e) for e in theirs]
    assert len({e["decision_id"] for e in ours}) == decided
    named = [a["decision_id"] for a in answers if "decision_id" in a]  # OPA's query API names none
    assert len(named) == 4 and named == [e["decision_id"] for e in ours if "path" in e and "error" not in e]
    lines = log.read_bytes().splitlines()
    assert b'"n":2048.0000000000001' in lines[0]  # GET's input, as OPA read it: never through a float
    assert b'"n": 2048.0000000000001' in lines[1]  # a POSTed input as its client wrote it
    assert all(e["metrics"]["timer_server_handler_ns"] > 0 for e in ours)
    assert all(e["requested_by"].startswith("127.0.0.1:") for e in ours)
    assert verify([str(log)]).whole


def test_with_decision_log_sync_opas_own_answer_waits_for_its_event(tmp_path):
    log = tmp_path / "decisions.jsonl"
    with servers.running_service("--decision-log-file", str(log), "--decision-log-sync") as service:
        for n in range(3):
            answer = httpx.get(f"{service.url}/v1/data/{PATH}?input={quote(NATIVE_INPUT)}&n={n}").json()
            assert file_events(log)[-1]["decision_id"] == answer["decision_id"]  # already in the file


def test_without_a_sink_opas_own_answers_name_no_decision():
    with servers.running_service() as service:
        answer = httpx.post(f"{service.url}/v1/data/{PATH}?metrics=true", json={"input": {"a": 1}}).json()
        assert "decision_id" not in answer and "result" in answer


def test_without_a_sink_nothing_is_logged_and_undefined_stays_empty():
    with servers.running_service() as service:
        assert httpx.post(f"{service.url}/v1/data/acgs/nothing", json={"input": {}}).json() == {}


def test_an_input_written_over_several_lines_is_one_line_of_the_log(tmp_path):
    log = tmp_path / "decisions.jsonl"
    with servers.running_service("--decision-log-file", str(log)) as service:
        body = b'{\n  "input": {\n    "action": "data.read",\r\n    "n": 1.50\n  }\n}'
        httpx.post(f"{service.url}/v1/data/{PATH}", content=body)
        httpx.post(f"{service.url}/v1/data/{PATH}", content=body)
        assert wait_until(lambda: len(file_events(log)) == 2)
    lines = log.read_bytes().splitlines()
    assert len(lines) == 2 and b'"n":1.50' in lines[0]  # compacted, the number as written
    assert verify([str(log)]).whole


class _Decisions:
    revision = "r"

    async def decide(self, query: str, input_json: bytes | None, action: str | None = None) -> Decided:
        return Decided(b'{"allow":true,"rule":"safe"}', revision="r-1")


def _request() -> Request:
    async def receive() -> dict:
        return {"body": b'{"action": "data.read"}', "more_body": False}

    return Request("POST", "/v1/evaluate", b"", {"headers": [], "client": ("10.0.0.1", 5)}, receive)


def test_with_logging_off_no_event_is_built(monkeypatch):
    def forbidden(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("an event was built with logging off")

    monkeypatch.setattr(acgs_endpoints, "DecisionEvent", forbidden)
    endpoints = acgs_endpoints.AcgsEndpoints(_Decisions(), Metrics(), "data.acgs.x", 1000, logs=None)
    assert asyncio.run(endpoints.evaluate(_request())).status == 200


def test_with_logging_on_the_endpoint_hands_over_one_event_with_the_answers_id():
    class Logs:
        def __init__(self) -> None:
            self.events: list = []

        def log(self, event):  # type: ignore[no-untyped-def]
            self.events.append(event)

    logs = Logs()
    endpoints = acgs_endpoints.AcgsEndpoints(_Decisions(), Metrics(), "data.acgs.x", 1000, logs=logs)  # type: ignore[arg-type]
    response = asyncio.run(endpoints.evaluate(_request()))
    [event] = logs.events
    assert event.decision_id == orjson.loads(response.body)["decision_id"]
    assert event.path == "acgs/x" and event.revision == "r-1" and event.client == ("10.0.0.1", 5)
    assert orjson.loads(event.input)["evaluation_id"] == event.decision_id


@pytest.mark.timeout(120)
def test_with_several_workers_each_writes_its_own_chained_file(tmp_path):
    log = tmp_path / "decisions.jsonl"
    answered = set()
    with servers.running_service("--workers", "2", "--decision-log-file", str(log)) as service:
        for _ in range(40):
            with httpx.Client(base_url=service.url, timeout=10) as http:  # new connections: both workers
                answered.add(http.post("/v1/evaluate", json=evaluate_body(0)).json()["decision_id"])
        os.kill(service.pid, signal.SIGTERM)
        files = lambda: sorted(tmp_path.glob("decisions.jsonl.worker-*"))  # noqa: E731
        assert wait_until(lambda: answered <= {e["decision_id"] for f in files() for e in file_events(f)})
    assert not log.exists()
    for file in files():
        assert verify([str(file)]).whole


def test_in_durable_mode_opas_own_answer_is_held_until_its_event_is_written():
    class Server:
        def serve(self, head, body, timeout):  # type: ignore[no-untyped-def]
            facts = {"decision_id": "d-1", "path": "acgs/x", "timestamp_ns": 1, "metrics": {"timer_rego_eval_ns": 5}}
            answer = b'{"decision_id":"d-1","result":1}'
            return {"status": 200, "headers": {}}, answer, [NativeDecision(facts, b'{"a":1}', b"1")]

    class DurableLogs:
        def __init__(self) -> None:
            self.events: list = []
            self.written: asyncio.Future | None = None

        def log(self, event):  # type: ignore[no-untyped-def]
            self.events.append(event)
            self.written = asyncio.get_running_loop().create_future()
            return self.written

    async def scenario() -> None:
        logs = DurableLogs()
        native = OpaNative(_Decisions(), Settings(), logs)  # type: ignore[arg-type]

        async def server() -> Server:
            return Server()

        native._server = server  # type: ignore[method-assign]
        request = Request("POST", "/v1/data/acgs/x", b"metrics=true", {"headers": [], "client": ("10.0.0.1", 5)}, None)
        answering = asyncio.create_task(native.answer(request, b'{"input": {"a": 1}}'))
        await asyncio.sleep(0.2)
        assert not answering.done()  # its event is not in the file yet
        [event] = logs.events
        assert event.decision_id == "d-1" and event.path == "acgs/x" and event.input == b'{"a": 1}'
        assert event.metrics["timer_server_handler_ns"] > 0 and event.client == ("10.0.0.1", 5)
        assert logs.written is not None
        logs.written.set_result(None)
        assert (await asyncio.wait_for(answering, 5)).status == 200

    asyncio.run(scenario())
