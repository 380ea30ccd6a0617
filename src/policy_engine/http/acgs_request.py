"""The ACGS evaluate request: validation with FastAPI's 422 shape, and the OPA input it becomes.

The client's `input_data` and `context` reach OPA as the client's bytes (jsontext): the
decoded values serve validation and routing only.
"""

import re

import msgspec
import orjson

from policy_engine import jsontext
from policy_engine.http.ids import decision_id, utc_timestamp


class EvaluateRequest(msgspec.Struct):
    action: str
    agent_id: str | None
    input_data_json: bytes  # the client's JSON of input_data
    context_json: bytes  # the client's JSON of context (null when it sent null)
    action_json: bytes  # the client's JSON string of action
    agent_id_json: bytes  # the client's JSON string of the agent's id, or null


class RequestInvalid(Exception):
    """Carries FastAPI-style error entries: {"loc", "msg", "type"}."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors)
        self.errors = errors


class _Body(msgspec.Struct):
    """The request's fields as their bytes: nothing below them is decoded (numbers OPA reads
    whole, nesting as deep as OPA's decoder allows)."""

    action: msgspec.Raw = msgspec.Raw()
    agent_id: msgspec.Raw = msgspec.Raw()
    input_data: msgspec.Raw = msgspec.Raw()
    context: msgspec.Raw = msgspec.Raw()


class _Context(msgspec.Struct):
    agent: msgspec.Raw = msgspec.Raw()


class _Agent(msgspec.Struct):
    id: msgspec.Raw = msgspec.Raw()


_body = msgspec.json.Decoder(_Body)
_BYTE = re.compile(r"\(byte (\d+)\)")
_context = msgspec.json.Decoder(_Context)
_agent = msgspec.json.Decoder(_Agent)


def _error(field: str, msg: str, kind: str) -> dict:
    return {"loc": ["body", field], "msg": msg, "type": kind}


def not_json(exc: Exception) -> RequestInvalid:
    """FastAPI's JSON decode error, at the byte the decoder stopped at."""
    message = getattr(exc, "msg", str(exc))
    at = _BYTE.search(str(exc))
    position = getattr(exc, "pos", int(at.group(1)) if at else 0)
    return RequestInvalid(
        [{"loc": ["body", position], "msg": f"JSON decode error: {message}", "type": "value_error.jsondecode"}]
    )


def parse_evaluate_request(raw: bytes) -> EvaluateRequest:
    """Validate a JSON body; unknown top-level fields are ignored."""
    try:
        body, _ = jsontext.decode(raw, _body)
    except msgspec.ValidationError as exc:
        raise RequestInvalid(
            [{"loc": ["body"], "msg": "value is not a valid dict", "type": "type_error.dict"}]
        ) from exc
    except jsontext.DecodeError as exc:
        raise not_json(exc) from exc
    action, agent_id = bytes(body.action), bytes(body.agent_id)
    input_data, context = bytes(body.input_data) or b"{}", bytes(body.context) or b"{}"
    errors = []
    if action in (b"", b"null"):
        errors.append(_error("action", "field required", "value_error.missing"))
    elif action[:1] != b'"':
        errors.append(_error("action", "str type expected", "type_error.str"))
    if agent_id not in (b"", b"null") and agent_id[:1] != b'"':
        errors.append(_error("agent_id", "str type expected", "type_error.str"))
    if input_data[:1] != b"{":
        errors.append(_error("input_data", "value is not a valid dict", "type_error.dict"))
    if context != b"null" and context[:1] != b"{":
        errors.append(_error("context", "value is not a valid dict", "type_error.dict"))
    if errors:
        raise RequestInvalid(errors)
    agent = agent_id if agent_id not in (b"", b"null") else _agent_of(context)
    return EvaluateRequest(
        jsontext.string_or_text(action),
        jsontext.string_or_text(agent) if agent else None,
        input_data,
        context,
        action,
        agent or b"null",
    )


def _agent_of(context: bytes) -> bytes:
    """context.agent.id when it is a string (the old service's fallback for agent_id), else b""."""
    if context == b"null":
        return b""
    agent = bytes(_context.decode(context).agent)
    if agent[:1] != b"{":
        return b""
    found = bytes(_agent.decode(agent).id)
    return found if found[:1] == b'"' else b""


def opa_input(request: EvaluateRequest, evaluation_id: str | None = None) -> bytes:
    """The input document the old service sent to OPA (policies depend on this shape), as JSON."""
    return b'{"action":%b,"agent_id":%b,"data":%b,"context":%b,"evaluation_id":%b,"timestamp":"%b"}' % (
        request.action_json,
        request.agent_id_json,
        request.input_data_json,
        request.context_json,
        orjson.dumps(evaluation_id or decision_id()),
        utc_timestamp().encode(),  # ISO-8601: nothing in it needs escaping
    )
