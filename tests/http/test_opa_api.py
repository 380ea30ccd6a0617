"""OPA's REST API, answered as `opa run --server` answers it."""

import orjson
import pytest

CASES = [
    ("acgs/constitutional/evaluate", {"action": "data.read", "context": {"agent": {"trust_level": 0.1}}}),
    ("acgs/constitutional/evaluate", {"action": "model.train"}),
    ("acgs/config/safe_actions", None),
    ("acgs/config", {"anything": 1}),
    ("acgs/nothing/here", {}),
]


@pytest.mark.parametrize(("path", "input"), CASES)
def test_v1_data_post_matches_opa(http, opa_url, path, input):
    import httpx

    body = orjson.dumps({"input": input}) if input is not None else b""
    ours = http.post(f"/v1/data/{path}", content=body)
    theirs = httpx.post(f"{opa_url}/v1/data/{path}", content=body)
    assert ours.status_code == theirs.status_code == 200
    assert ours.json().get("result") == theirs.json().get("result")
    if "result" in theirs.json():
        assert "decision_id" in ours.json()
    else:
        assert ours.json() == {}


def test_v1_data_get_evaluates_without_input(http):
    assert http.get("/v1/data/acgs/config/min_trust_general").json()["result"] == 0.8


def test_metrics_true_adds_metrics(http):
    body = http.get("/v1/data/acgs/config/policy_version?metrics=true").json()
    assert body["result"] == "1.0.0"
    assert body["metrics"]["timer_server_handler_ns"] > 0


def test_v0_data_takes_the_raw_input_and_404s_when_undefined(http):
    body = orjson.dumps({"action": "system.execute_shell"})
    assert http.post("/v0/data/acgs/constitutional/evaluate", content=body).json()["violations"] == ["dangerous_action"]
    missing = http.post("/v0/data/acgs/nothing", content=b"{}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "undefined_document"


@pytest.mark.parametrize("body", [b"{bad", b"[1]", b'"x"'])
def test_malformed_bodies_get_opas_error_shape(http, body):
    response = http.post("/v1/data/acgs/constitutional/evaluate", content=body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"
    assert response.json()["message"]


def test_compile_answers_as_opa_does(http, opa_url):
    import httpx

    request = {"query": "data.acgs.config.min_trust_safe > input.x", "unknowns": ["input"]}
    ours = http.post("/v1/compile", content=orjson.dumps(request))
    theirs = httpx.post(f"{opa_url}/v1/compile", content=orjson.dumps(request))
    assert ours.status_code == theirs.status_code == 200
    assert ours.json()["result"] == theirs.json()["result"]


def test_compile_rejects_a_query_that_does_not_parse(http):
    response = http.post("/v1/compile", content=orjson.dumps({"query": "data["}))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"
