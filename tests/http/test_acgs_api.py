"""The ACGS API of API.md, kept exactly, on a real running server."""

import orjson
import pytest

from policy_engine.bench.engine_bench import ENTRYPOINT_PATH
from policy_engine.workload.trace import WorkloadParams, generate

TRUSTED = {"agent": {"id": "agent-7", "trust_level": 0.9}}


def evaluate(http, body, path="/v1/evaluate"):
    return http.post(path, content=orjson.dumps(body) if not isinstance(body, bytes) else body)


def test_a_decision_has_every_field_with_its_type(http):
    response = evaluate(http, {"action": "data.read", "agent_id": "a", "context": TRUSTED})
    assert response.status_code == 200
    body = response.json()
    assert body["allow"] is True
    assert body["violations"] == []
    assert body["reason"] == "Safe action permitted"
    assert body["confidence_score"] == 1.0
    assert type(body["evaluation_time_ms"]) is int
    assert type(body["evaluation_time_us"]) is float
    assert type(body["cache_hit"]) is bool
    assert body["policy_version"] == "1.0.0"
    assert body["rule"] == "safe"
    assert len(body["decision_id"]) == 36


def test_both_paths_answer_the_same(http):
    body = {"action": "system.execute_shell", "context": TRUSTED}
    a, b = evaluate(http, body).json(), evaluate(http, body, "/api/v1/evaluate").json()
    assert a["violations"] == b["violations"] == ["dangerous_action"]
    assert a["decision_id"] != b["decision_id"]


def test_agent_id_is_optional_and_unknown_fields_are_ignored(http):
    response = evaluate(http, {"action": "data.read", "context": TRUSTED, "extra": [1, 2]})
    assert response.status_code == 200
    assert response.json()["allow"] is True


def test_input_data_becomes_data_in_the_opa_input(http):
    body = {"action": "evolve_agent", "input_data": {"fitness_improvement": 0.1, "safety_score": 0.99}}
    decision = evaluate(http, body).json()
    assert decision["violations"] == ["constitutional_compliance_below_threshold"]
    assert decision["reason"] == "Fitness: 0.100, Safety: 0.990, Compliance: 0.000"


def test_null_context_is_accepted_and_decided(http):
    decision = evaluate(http, {"action": "model.train", "context": None}).json()
    assert decision["allow"] is False
    assert "sandbox_required" in decision["violations"]


def test_decisions_equal_opa_for_the_workload(http, opa):
    for body in generate(WorkloadParams(requests=300, seed=5)):
        ours = evaluate(http, body).json()
        opa_input = {"action": body["action"], "agent_id": body["agent_id"], "data": body["input_data"]}
        opa_input["context"] = body["context"]
        theirs = opa.decide(ENTRYPOINT_PATH, orjson.dumps(opa_input))["result"]
        for field in ("allow", "violations", "reason", "confidence_score", "policy_version", "rule"):
            assert ours[field] == theirs[field], (body, field)


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        (b"{not json", ["body", 1], "value_error.jsondecode"),
        (b"", ["body", 0], "value_error.jsondecode"),
        (b"[1, 2]", ["body"], "type_error.dict"),
        ({"agent_id": "a"}, ["body", "action"], "value_error.missing"),
        ({"action": None}, ["body", "action"], "value_error.missing"),
        ({"action": 5}, ["body", "action"], "type_error.str"),
        ({"action": "x", "agent_id": 5}, ["body", "agent_id"], "type_error.str"),
        ({"action": "x", "input_data": [1]}, ["body", "input_data"], "type_error.dict"),
        ({"action": "x", "input_data": None}, ["body", "input_data"], "type_error.dict"),
        ({"action": "x", "context": "ctx"}, ["body", "context"], "type_error.dict"),
    ],
)
def test_schema_errors_are_422_in_fastapi_shape(http, body, loc, kind):
    response = evaluate(http, body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert {"loc": loc, "type": kind} == {"loc": detail[0]["loc"], "type": detail[0]["type"]}
    assert detail[0]["msg"]


def test_a_body_over_the_limit_is_413(http):
    huge = b'{"action": "data.read", "context": {"pad": "' + b"x" * (1024 * 1024) + b'"}}'
    response = evaluate(http, huge)
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_unknown_path_is_404_and_wrong_method_is_405(http):
    assert http.get("/v2/evaluate").status_code == 404
    response = http.get("/v1/evaluate")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert http.post("/health").status_code == 405


def test_health_and_ready(http):
    health = http.get("/health").json()
    assert health["status"] == "healthy"
    assert set(health) >= {"status", "timestamp", "version", "dependencies"}
    assert health["dependencies"]["redis"] == "not_configured"
    assert "embedded" in health["dependencies"]["opa"]
    assert http.get("/ready").json() == {"status": "ready"}


def test_metrics_carry_the_names_dashboards_use(http):
    evaluate(http, {"action": "data.read", "context": TRUSTED})
    text = http.get("/metrics").text
    for name in (
        "policy_evaluations_total{",
        "policy_evaluation_duration_seconds_bucket{",
        "constitutional_compliance_rate",
        "policy_cache_hit_rate",
        "opa_circuit_breaker_state",
        "cache_hits_total",
        "cache_requests_total",
        'http_request_duration_seconds_bucket{endpoint="/v1/evaluate"',
    ):
        assert name in text, name


def test_known_actions_are_served_by_residuals(http):
    before = http.get("/metrics").text
    evaluate(http, {"action": "data.read", "context": TRUSTED})
    evaluate(http, {"action": "never.seen.before", "context": TRUSTED})
    after = http.get("/metrics").text

    def count(text: str, kind: str) -> float:
        line = f'policy_residual_decisions_total{{kind="{kind}"}}'
        return next((float(x.split(" ")[1]) for x in text.splitlines() if x.startswith(line)), 0.0)

    assert count(after, "residual") == count(before, "residual") + 1
    assert count(after, "full") == count(before, "full") + 1


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded; charset=utf-8"])
def test_a_cross_origin_form_or_text_post_is_refused_not_evaluated(http, content_type):
    """A browser sends these cross-origin without a preflight: they are never decisions."""
    body = b'{"action": "data.read", "context": {"agent": {"trust_level": 0.9}}}'
    for path in ("/v1/evaluate", "/v1/data/acgs/constitutional/evaluate"):
        response = http.post(path, content=body, headers={"content-type": content_type})
        assert response.status_code == 415
        assert "application/json" in response.json()["message"]
    assert http.post("/v1/evaluate", content=body).status_code == 200  # no Content-Type: accepted
