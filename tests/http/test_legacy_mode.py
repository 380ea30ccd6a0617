"""`--engine opa-http`: the old path through an external OPA, with its circuit breaker."""

import orjson

from policy_engine.bench.opa_server import free_port
from policy_engine.workload.trace import WorkloadParams, generate
from tests.support.service import client, running_service

FIELDS = ("allow", "violations", "reason", "confidence_score", "policy_version", "rule")


def test_legacy_answers_what_the_embedded_engine_answers(http, opa_url):
    with running_service("--engine", "opa-http", "--opa-url", opa_url) as url, client(url) as legacy:
        for body in generate(WorkloadParams(requests=200, seed=9)):
            ours = http.post("/v1/evaluate", content=orjson.dumps(body)).json()
            old = legacy.post("/v1/evaluate", content=orjson.dumps(body)).json()
            assert {f: old[f] for f in FIELDS} == {f: ours[f] for f in FIELDS}
        assert legacy.get("/v1/data/acgs/config/min_trust_safe").json()["result"] == 0.3
        assert "reachable" in legacy.get("/health").json()["dependencies"]["opa"]


def test_an_unreachable_opa_fails_closed_and_opens_the_breaker():
    dead = f"http://127.0.0.1:{free_port()}"
    env = {"PE_BREAKER_FAILURES": "3", "PE_BREAKER_RESET_SECONDS": "60"}
    with running_service("--engine", "opa-http", "--opa-url", dead, env=env) as url, client(url) as legacy:
        for _ in range(5):
            response = legacy.post("/v1/evaluate", content=b'{"action": "data.read"}')
            assert response.status_code == 200
            decision = response.json()
            assert decision["allow"] is False
            assert decision["violations"] == ["evaluation_error"]
            assert decision["reason"].startswith("Policy evaluation failed: ")
            assert decision["confidence_score"] == 0.0
        assert "opa_circuit_breaker_state 1.0" in legacy.get("/metrics").text
        assert "circuit breaker is open" in decision["reason"]
        health = legacy.get("/health").json()
        assert health["status"] == "degraded"
