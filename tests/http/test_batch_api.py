"""The batch APIs: in order, each item its own answer, limits with clear errors."""

import orjson

from tests.engine.test_bridge import write_bundle
from tests.support.service import client, running_service

SAFE = {"action": "data.read", "context": {"agent": {"trust_level": 0.5}}}
FIELDS = ("allow", "violations", "reason", "confidence_score", "policy_version", "rule")


def test_batch_evaluate_answers_in_order_like_single_requests(http):
    items = [SAFE, {"agent_id": "no action"}, {"action": "system.execute_shell"}, {"action": "evolve_agent"}]
    response = http.post("/v1/batch/evaluate", content=orjson.dumps({"requests": items}))
    assert response.status_code == 200
    answers = response.json()["responses"]
    assert len(answers) == 4
    assert answers[1]["error"]["status"] == 422
    assert answers[1]["error"]["detail"][0]["loc"] == ["body", "action"]
    for item, answer in zip(items, answers, strict=True):
        if "error" not in answer:
            single = http.post("/v1/evaluate", content=orjson.dumps(item)).json()
            assert {f: answer[f] for f in FIELDS} == {f: single[f] for f in FIELDS}
            assert type(answer["evaluation_time_ms"]) is int


def test_batch_evaluate_limits_and_shape(service_url):
    with running_service("--batch-max-items", "3") as url, client(url) as http:
        too_many = http.post("/v1/batch/evaluate", content=orjson.dumps({"requests": [SAFE] * 4}))
        assert too_many.status_code == 413
        assert "limit is 3" in too_many.json()["detail"]
        for body in ({"requests": "x"}, {"nothing": []}, [SAFE]):
            assert http.post("/v1/batch/evaluate", content=orjson.dumps(body)).status_code == 422
        assert (
            http.post(
                "/v1/batch/data/acgs", content=orjson.dumps({"inputs": {str(n): {} for n in range(4)}})
            ).status_code
            == 413
        )


def test_batch_data_merges_common_input_and_answers_like_v1_data(http):
    body = {
        "inputs": {"low": {"context": {"agent": {"trust_level": 0.1}}}, "plain": {}},
        "common_input": {"action": "data.read", "context": {"agent": {"trust_level": 0.9}}},
    }
    response = http.post("/v1/batch/data/acgs/constitutional/evaluate", content=orjson.dumps(body))
    assert response.status_code == 200
    document = response.json()
    assert document["batch_decision_id"]
    answers = document["responses"]
    assert answers["low"]["result"]["violations"] == ["trust_level_too_low"]
    assert answers["plain"]["result"]["allow"] is True
    single = http.post(
        "/v1/data/acgs/constitutional/evaluate",
        content=orjson.dumps({"input": {"action": "data.read", "context": {"agent": {"trust_level": 0.1}}}}),
    ).json()
    assert answers["low"]["result"] == single["result"]


def test_batch_data_is_207_when_some_fail(tmp_path):
    bundle = write_bundle(tmp_path, "package p\n\nx := 1 if input.a\n\nx := 2 if input.b\n")
    with running_service("--bundle", str(bundle)) as url, client(url) as http:
        body = {"inputs": {"ok": {"a": True}, "conflict": {"a": True, "b": True}, "undefined": {}}}
        response = http.post("/v1/batch/data/p/x", content=orjson.dumps(body))
        assert response.status_code == 207
        answers = response.json()["responses"]
        assert answers["ok"]["result"] == 1
        assert answers["conflict"]["code"] == "internal_error"
        assert "result" not in answers["undefined"]
