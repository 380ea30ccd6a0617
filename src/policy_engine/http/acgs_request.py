"""The ACGS evaluate request: validation with FastAPI's 422 shape, and the OPA input it becomes.

The client's `input_data` and `context` reach OPA as the client's bytes (jsontext): the
decoded values serve validation and routing only.
"""

from dataclasses import dataclass

import msgspec
import orjson

from policy_engine import jsontext
from policy_engine.http.ids import decision_id, utc_timestamp


@dataclass(frozen=True)
class EvaluateRequest:
    action: str
    agent_id: str | None
    input_data_json: bytes  # the client's JSON of input_data
    context_json: bytes  # the client's JSON of context (null when it sent null)


class RequestInvalid(Exception):
    """Carries FastAPI-style error entries: {"loc", "msg", "type"}."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors)
        self.errors = errors


class _Spans(msgspec.Struct):
    input_data: msgspec.Raw = msgspec.Raw(b"{}")
    context: msgspec.Raw = msgspec.Raw(b"{}")


_spans = msgspec.json.Decoder(_Spans)


def _error(field: str, msg: str, kind: str) -> dict:
    return {"loc": ["body", field], "msg": msg, "type": kind}


def decode_json_body(raw: bytes) -> object:
    """The decoded body, or RequestInvalid in FastAPI's shape."""
    try:
        return jsontext.loads(raw)
    except jsontext.DecodeError as exc:
        position = getattr(exc, "pos", 0)
        message = getattr(exc, "msg", str(exc))
        raise RequestInvalid(
            [{"loc": ["body", position], "msg": f"JSON decode error: {message}", "type": "value_error.jsondecode"}]
        ) from exc


def parse_evaluate_request(raw: bytes) -> EvaluateRequest:
    """Validate a JSON body; unknown top-level fields are ignored."""
    body = decode_json_body(raw)
    if type(body) is not dict:
        raise RequestInvalid([{"loc": ["body"], "msg": "value is not a valid dict", "type": "type_error.dict"}])
    errors = []
    action = body.get("action")
    if "action" not in body or action is None:
        errors.append(_error("action", "field required", "value_error.missing"))
    elif type(action) is not str:
        errors.append(_error("action", "str type expected", "type_error.str"))
    agent_id = body.get("agent_id")
    if agent_id is not None and type(agent_id) is not str:
        errors.append(_error("agent_id", "str type expected", "type_error.str"))
    if type(body.get("input_data", {})) is not dict:
        errors.append(_error("input_data", "value is not a valid dict", "type_error.dict"))
    context = body.get("context", {})
    if context is not None and type(context) is not dict:
        errors.append(_error("context", "value is not a valid dict", "type_error.dict"))
    if errors:
        raise RequestInvalid(errors)
    if agent_id is None and context:
        agent = context.get("agent")
        if type(agent) is dict and type(agent.get("id")) is str:
            agent_id = agent["id"]
    spans, _ = jsontext.decode(raw, _spans)
    return EvaluateRequest(action, agent_id, bytes(spans.input_data), bytes(spans.context))


def opa_input(request: EvaluateRequest, evaluation_id: str | None = None) -> bytes:
    """The input document the old service sent to OPA (policies depend on this shape), as JSON."""
    return b'{"action":%b,"agent_id":%b,"data":%b,"context":%b,"evaluation_id":%b,"timestamp":%b}' % (
        orjson.dumps(request.action),
        orjson.dumps(request.agent_id),
        request.input_data_json,
        request.context_json,
        orjson.dumps(evaluation_id or decision_id()),
        orjson.dumps(utc_timestamp()),
    )
