"""No stack, exception name or internal detail in a response: internal failures go to the log,
with their decision id, and the client gets a plain sentence naming that id."""

import asyncio
import logging

import orjson
import pytest

from policy_engine.engine.bridge import load_bridge
from policy_engine.engine.errors import EngineError, EvaluationError, UpstreamUnavailable
from policy_engine.http.acgs_endpoints import AcgsEndpoints
from policy_engine.http.asgi import Request, Response
from policy_engine.http.batch_endpoints import BatchEndpoints
from policy_engine.http.opa_endpoints import OpaEndpoints
from policy_engine.metrics import Metrics

GO_STACK = "goroutine 7 [running]:\nruntime/debug.Stack()\n\t/usr/local/go/src/runtime/debug/stack.go:26"
PANIC_MESSAGE = "internal error in the policy engine: runtime error: index out of range"
PANIC = EngineError(PANIC_MESSAGE, "internal_error", GO_STACK)
BUG = KeyError("/srv/secret/path")
LEAKS = ("goroutine", "runtime error", "index out of range", "KeyError", "/srv/secret", "Traceback")


class Failing:
    """A decision path that raises `error` for every decision."""

    revision = "r"

    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def decide(self, query: str, input_json: bytes | None, action: str | None = None):
        raise self.error


def request(path: str, body: bytes) -> Request:
    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request("POST", path, b"", {"headers": [(b"content-type", b"application/json")]}, receive)


def acgs(error: BaseException) -> AcgsEndpoints:
    return AcgsEndpoints(Failing(error), Metrics(), "data.acgs.constitutional.evaluate", 1 << 20)  # type: ignore[arg-type]


def evaluate(error: BaseException) -> dict:
    response = asyncio.run(acgs(error).evaluate(request("/v1/evaluate", b'{"action": "data.read"}')))
    assert response.status == 200
    return orjson.loads(response.body)


def logged(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "policy_engine.failures"]


def assert_nothing_leaks(body: bytes | str) -> None:
    text = body if isinstance(body, str) else body.decode()
    assert [leak for leak in LEAKS if leak in text] == []


def test_a_bridge_panic_is_a_deny_naming_the_decision_and_its_stack_is_logged(caplog):
    decision = evaluate(PANIC)
    assert decision["allow"] is False
    assert decision["decision_id"] in decision["reason"]
    assert_nothing_leaks(orjson.dumps(decision))
    (record,) = logged(caplog)
    assert record.decision_id == decision["decision_id"]
    assert record.detail == GO_STACK
    assert "index out of range" in record.getMessage()


def test_a_bug_is_a_deny_and_its_traceback_is_logged(caplog):
    decision = evaluate(BUG)
    assert decision["allow"] is False
    assert_nothing_leaks(orjson.dumps(decision))
    (record,) = logged(caplog)
    assert record.decision_id == decision["decision_id"]
    assert record.exc_info[1] is BUG


def test_opas_own_evaluation_errors_are_still_the_clients_to_read(caplog):
    decision = evaluate(EvaluationError("object insert conflict", "eval_error"))
    assert decision["reason"] == "Policy evaluation failed: object insert conflict"
    assert logged(caplog) == []


@pytest.mark.parametrize("error", [PANIC, BUG])
def test_the_data_api_answers_opas_internal_error_without_the_detail(caplog, error):
    opa = OpaEndpoints(Failing(error), 1 << 20, None)  # type: ignore[arg-type]  # the fast path: no OPA server
    response: Response = asyncio.run(opa.data_v1(request("/v1/data/x", b'{"input": {}}'), "/x"))
    assert response.status == 500
    body = orjson.loads(response.body)
    assert body["code"] == "internal_error"
    assert_nothing_leaks(response.body)
    (record,) = logged(caplog)
    assert record.decision_id in body["message"]


@pytest.mark.parametrize("error", [PANIC, BUG])
def test_a_batch_item_that_fails_inside_says_so_without_the_detail(caplog, error):
    batch = BatchEndpoints(acgs(error), Failing(error), 1 << 20, 10)  # type: ignore[arg-type]
    body = b'{"inputs": {"a": {"x": 1}}}'
    response = asyncio.run(batch.data(request("/v1/batch/data/x", body), "/x"))
    item = orjson.loads(response.body)["responses"]["a"]
    assert (response.status, item["code"], item["http_status_code"]) == (207, "internal_error", "500")
    assert_nothing_leaks(response.body)
    (record,) = logged(caplog)
    assert record.decision_id in item["message"]


def test_a_real_go_panic_carries_its_stack_apart_from_its_message():
    with pytest.raises(EngineError) as caught:
        load_bridge().selftest_panic()
    assert "goroutine" in caught.value.detail
    assert "goroutine" not in caught.value.message


def test_an_unreachable_external_opa_is_named_without_its_address(caplog):
    unreachable = UpstreamUnavailable("OPA at http://10.0.0.7:8181 unreachable: ClientConnectorError(...)")
    decision = evaluate(unreachable)
    assert decision["reason"].startswith("Policy evaluation failed: the external OPA is unreachable (decision_id ")
    assert "10.0.0.7" not in decision["reason"] and "ClientConnectorError" not in decision["reason"]
    assert "10.0.0.7" in logged(caplog)[0].getMessage()
