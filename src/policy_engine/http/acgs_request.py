"""The ACGS evaluate request: validation with FastAPI's 422 shape, and the OPA input it becomes."""

from dataclasses import dataclass
from typing import Any

from policy_engine.http.ids import decision_id, utc_timestamp


@dataclass(frozen=True)
class EvaluateRequest:
    action: str
    agent_id: str | None
    input_data: dict
    context: dict | None


class RequestInvalid(Exception):
    """Carries FastAPI-style error entries: {"loc", "msg", "type"}."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(errors)
        self.errors = errors


def _error(field: str, msg: str, kind: str) -> dict:
    return {"loc": ["body", field], "msg": msg, "type": kind}


def parse_evaluate_request(body: Any) -> EvaluateRequest:
    """Validate a decoded JSON body; unknown top-level fields are ignored."""
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
    input_data = body.get("input_data", {})
    if type(input_data) is not dict:
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
    return EvaluateRequest(action, agent_id, input_data, context)


def opa_input(request: EvaluateRequest, evaluation_id: str | None = None) -> dict:
    """The input document the old service sent to OPA; policies depend on this shape."""
    return {
        "action": request.action,
        "agent_id": request.agent_id,
        "data": request.input_data,
        "context": request.context,
        "evaluation_id": evaluation_id or decision_id(),
        "timestamp": utc_timestamp(),
    }
