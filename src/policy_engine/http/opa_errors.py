"""OPA's error answers: {"code", "message"} (and `errors` where OPA lists them), OPA's codes."""

from policy_engine.http.asgi import Response, json_response


def opa_error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"code": code, "message": message})


def body_too_large(limit: int) -> Response:
    return opa_error(413, "invalid_parameter", f"request body exceeds {limit} bytes")
