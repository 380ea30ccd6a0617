"""The OpenAPI document of the service (served at /openapi.json; the fuzz tests read it).

OpenAPI 3.1: its schemas are JSON Schema 2020-12 (a nullable field is `"type": [..., "null"]`).
Every route of the app is here (tests/http/test_openapi.py walks them), and every endpoint of
OPA's own server that it reaches through them (OPA_SERVER_ROUTES), with the answers each one
gives, errors included: the protocol's 408/431 and the connection limit's 503 come from
the server itself, in plain text, on any operation.
"""

from typing import Any

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


_SCHEMAS: dict[str, Schema] = {
    "EvaluateRequest": {
        "type": "object",
        "description": "An ACGS decision request (unknown fields are ignored).",
        "required": ["action"],
        "properties": {
            "action": {"type": "string"},
            "agent_id": {"type": ["string", "null"], "description": "else context.agent.id when it is a string"},
            "input_data": {"type": "object", "description": "the policy's `input.data` (default {})"},
            "context": {"type": ["object", "null"], "description": "the policy's `input.context` (default {})"},
        },
    },
    "Decision": {
        "type": "object",
        "description": "A decision. Fails closed: an evaluation error or timeout is `allow: false` "
        "with the violation `evaluation_error`.",
        "required": [
            "allow",
            "violations",
            "reason",
            "confidence_score",
            "policy_version",
            "rule",
            "evaluation_time_ms",
            "evaluation_time_us",
            "cache_hit",
            "decision_id",
        ],
        "properties": {
            "allow": {"type": "boolean"},
            "violations": {"type": "array", "items": {"type": "string"}},
            "reason": {"type": ["string", "null"]},
            "confidence_score": {"type": ["number", "null"]},
            "policy_version": {"type": "string"},
            "rule": {"description": "the policy's rule field, as it wrote it (null when absent)"},
            "evaluation_time_ms": {"type": "integer", "minimum": 0},
            "evaluation_time_us": {"type": "number", "minimum": 0},
            "cache_hit": {"type": "boolean"},
            "decision_id": {"type": "string", "format": "uuid"},
        },
    },
    "ValidationError": {
        "type": "object",
        "description": "FastAPI's 422 shape, as the old service answered.",
        "required": ["detail"],
        "properties": {"detail": _ref("ValidationErrors")},
    },
    "ValidationErrors": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["loc", "msg", "type"],
            "properties": {
                "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                "msg": {"type": "string"},
                "type": {"type": "string"},
            },
        },
    },
    "Detail": {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}},
    "UnsupportedMediaType": {
        "type": "object",
        "required": ["detail", "code", "message"],
        "properties": {
            "detail": {"type": "string"},
            "code": {"const": "unsupported_media_type"},
            "message": {"type": "string"},
        },
    },
    "OpaError": {
        "type": "object",
        "description": "OPA's error answer.",
        "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
    },
    "BatchEvaluateRequest": {
        "type": "object",
        "required": ["requests"],
        "properties": {
            "requests": {
                "type": "array",
                "description": "each item is validated alone: an invalid one gets its own 422 entry",
                "items": _ref("EvaluateRequest"),
            }
        },
    },
    "BatchEvaluateResponse": {
        "type": "object",
        "required": ["responses"],
        "properties": {
            "responses": {
                "type": "array",
                "description": "one per request, in order",
                "items": {"oneOf": [_ref("Decision"), _ref("BatchItemInvalid")]},
            }
        },
    },
    "BatchItemInvalid": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "detail"],
                "properties": {"status": {"const": 422}, "detail": _ref("ValidationErrors")},
            }
        },
    },
    "DataRequest": {
        "type": "object",
        "description": "OPA's Data API request: `input` absent or null is no input.",
        "properties": {"input": {}},
    },
    "DataResponse": {
        "type": "object",
        "description": "OPA's Data API answer: {} when the document is undefined; with OPA's parameters "
        "(explain, instrument, ...) OPA's server answers, without a decision_id unless decisions are logged.",
        "properties": {
            "result": {},
            "decision_id": {"type": "string", "format": "uuid"},
            "metrics": {"type": "object", "additionalProperties": {"type": "integer"}},
            "explanation": {},
            "provenance": {"type": "object"},
        },
    },
    "BatchDataRequest": {
        "type": "object",
        "description": "EOPA's batch Data API: each input is merged over common_input (objects key by key).",
        "required": ["inputs"],
        "properties": {"inputs": {"type": "object"}, "common_input": {}},
    },
    "BatchDataResponse": {
        "type": "object",
        "required": ["batch_decision_id", "responses"],
        "properties": {
            "batch_decision_id": {"type": "string", "format": "uuid"},
            "responses": {
                "type": "object",
                "description": "by the inputs' keys",
                "additionalProperties": {"oneOf": [_ref("BatchDataResult"), _ref("BatchDataItemError")]},
            },
        },
    },
    "BatchDataResult": {
        "type": "object",
        "required": ["decision_id"],
        "properties": {"decision_id": {"type": "string", "format": "uuid"}, "result": {}},
        "not": {"required": ["code"]},
    },
    "BatchDataItemError": {
        "type": "object",
        "required": ["code", "message", "http_status_code"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "http_status_code": {"type": "string", "pattern": "^[45][0-9][0-9]$"},
        },
    },
    "CompileRequest": {
        "type": "object",
        "description": "OPA's Compile API: partial evaluation of a query written by the client.",
        "required": ["query"],
        "properties": {
            "query": {"type": "string"},
            "input": {},
            "unknowns": {"type": "array", "items": {"type": "string"}},
        },
    },
    "CompileResponse": {"type": "object", "required": ["result"], "properties": {"result": {"type": "object"}}},
    "Health": {
        "type": "object",
        "required": ["status", "timestamp", "version", "policy_revision", "dependencies"],
        "properties": {
            "status": {"enum": ["healthy", "degraded"]},
            "timestamp": {"type": "string", "format": "date-time"},
            "version": {"type": "string"},
            "policy_revision": {"type": "string"},
            "dependencies": {"type": "object", "additionalProperties": {"type": "string"}},
            "bundle": {
                "type": "object",
                "required": ["source", "revision", "content_hash", "activated", "last_success", "last_error"],
                "properties": {
                    "source": {"type": "string"},
                    "revision": {"type": "string"},
                    "content_hash": {"type": "string"},
                    "activated": {"type": "boolean"},
                    "last_success": {"type": ["number", "null"], "description": "UNIX time"},
                    "last_error": {"type": ["string", "null"]},
                },
            },
        },
    },
    "HealthCheckFailed": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "OpaResult": {
        "type": "object",
        "description": "OPA's answer: its result, and what OPA's parameters add (explanation, metrics, ...).",
        "properties": {"result": {}},
    },
    "QueryRequest": {
        "type": "object",
        "description": "OPA's Query API: a query written by the client, and its input.",
        "required": ["query"],
        "properties": {"query": {"type": "string"}, "input": {}},
    },
    "CompileAtPathRequest": {
        "type": "object",
        "description": "OPA's Compile API for the rules at a path (data filtering).",
        "properties": {
            "input": {},
            "unknowns": {"type": "array", "items": {"type": "string"}},
            "options": {"type": "object"},
        },
    },
    "Ready": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ready"}}},
}


def _json(schema: Schema) -> dict:
    return {"application/json": {"schema": schema}}


def _answer(description: str, schema: Schema | None = None, text: bool = False) -> dict:
    content = _json(schema) if schema is not None else {}
    if text:
        content["text/plain"] = {"schema": {"type": "string"}}
    return {"description": description, "content": content}


# What the server answers on any operation, before or instead of the handler.
_SERVER = {
    "408": _answer("the head or the body did not arrive in time (--header-timeout, --body-timeout)", text=True),
    "431": _answer("the head is too large (--max-header-bytes, --max-headers)", text=True),
    "503": _answer(
        "the worker's connection limit (--max-connections; plain text) or not ready yet", _ref("Detail"), True
    ),
}
_NOT_JSON = {"415": _answer("a form or text body (only JSON is read)", _ref("UnsupportedMediaType"))}


def _operation(
    summary: str,
    responses: dict,
    body: Schema | None = None,
    *,
    body_required: bool = True,
    parameters: list | None = None,
    media: str = "application/json",
) -> dict:
    operation: dict[str, Any] = {"summary": summary}
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": body_required, "content": {media: {"schema": body}}}
        if media == "application/json":
            responses = {**responses, **_NOT_JSON}
    operation["responses"] = _merged(_SERVER, responses)
    return operation


def _merged(server: dict, own: dict) -> dict:
    """The operation's answers over the server's: the same status keeps both media types."""
    merged = dict(server)
    for status, answer in own.items():
        if status in server:
            answer = {**answer, "content": {**server[status]["content"], **answer["content"]}}
        merged[status] = answer
    return dict(sorted(merged.items()))


def _parameter(
    name: str, where: str, description: str, schema: Schema | None = None, *, required: bool = False
) -> dict:
    """A parameter, a string unless said; a path parameter is always required."""
    schema = schema or {"type": "string"}
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "description": description,
        "schema": schema,
    }


_PATH = _parameter(
    "path", "path", "a path into `data`, its segments separated by `/` (e.g. acgs/constitutional/evaluate)"
)
_METRICS = _parameter(
    "metrics", "query", "`true`: the answer carries the server's timer, as OPA's", {"type": "boolean"}
)
_OPA_400 = _answer("invalid: not JSON, not an object, or a query OPA rejects", _ref("OpaError"))
_OPA_413 = _answer("the body is over --max-body-bytes", _ref("OpaError"))
_OPA_500 = _answer("the evaluation failed or ran past --eval-timeout-ms (OPA's answer)", _ref("OpaError"))


def _evaluate(summary: str) -> dict:
    return {
        "post": _operation(
            summary,
            {
                "200": _answer("the decision", _ref("Decision")),
                "413": _answer("the body is over --max-body-bytes", _ref("Detail")),
                "422": _answer("not a valid request", _ref("ValidationError")),
            },
            _ref("EvaluateRequest"),
        )
    }


def _data_v1(where: str, parameters: list) -> dict:
    answers = {
        "200": _answer(f"{where}, or {{}} when undefined", _ref("DataResponse")),
        "400": _OPA_400,
        "500": _OPA_500,
    }
    return {
        "get": _operation(f"OPA Data API: {where}, without input", answers, parameters=[*parameters, _METRICS]),
        "post": _operation(
            f"OPA Data API: {where}, for an input",
            {**answers, "413": _OPA_413},
            _ref("DataRequest"),
            body_required=False,
            parameters=[*parameters, _METRICS],
        ),
    }


def _data_writes(where: str, parameters: list) -> dict:
    """Writes, as OPA's server answers them for a service that serves its bundle only: refused."""
    refused = {
        "400": _answer("refused: this service serves its bundle only (OPA's answer)", _ref("OpaError")),
        "404": _answer("the document does not exist (OPA's answer)", _ref("OpaError")),
        "405": _answer("not on the root document (OPA's answer)", _ref("OpaError")),
    }
    return {
        method: _operation(
            f"OPA Data API: write {where} (refused)", refused, {}, body_required=False, parameters=parameters
        )
        for method in ("put", "patch")
    } | {"delete": _operation(f"OPA Data API: delete {where} (refused)", refused, parameters=parameters)}


def _data_v0(where: str, parameters: list) -> dict:
    return {
        "post": _operation(
            f"OPA Data API v0: {where}; the body is the input itself",
            {
                "200": _answer("the document itself", {}),
                "400": _OPA_400,
                "404": _answer("the document is undefined", _ref("OpaError")),
                "413": _OPA_413,
                "500": _OPA_500,
            },
            {},
            body_required=False,
            parameters=parameters,
        )
    }


def _batch_data(where: str, parameters: list) -> dict:
    response = _ref("BatchDataResponse")
    return {
        "post": _operation(
            f"Batch Data API: {where} for each input",
            {
                "200": _answer("every input decided", response),
                "207": _answer("some inputs failed: each failure is its own entry", response),
                "400": _answer("not an object with an inputs object", _ref("OpaError")),
                "413": _answer("over --max-body-bytes or --batch-max-items", _ref("OpaError")),
            },
            _ref("BatchDataRequest"),
            parameters=parameters,
        )
    }


def _by_opa(summary: str, answers: dict, body: Schema | None = None, **options: Any) -> dict:
    """An operation OPA's own server answers, as `opa run --server` does (its 500s included)."""
    return _operation(f"OPA's server: {summary}", {**answers, "500": _OPA_500}, body, body_required=False, **options)


_QUERY = _parameter("q", "query", "the query, in Rego", required=True)
_ID = _parameter("id", "path", "a policy's id")
_CHECK = _parameter("check", "path", "a rule of `data.system.health` (live, ready, ...)")
_OPA_200 = _answer("OPA's answer", _ref("OpaResult"))
_DISABLED = _answer("queries from clients are disabled (--disable-query-endpoints)", _ref("OpaError"))
_NOT_FOUND = _answer("not found (OPA's answer)", _ref("OpaError"))
_REFUSED = _answer("refused: this service serves its bundle only (OPA's answer)", _ref("OpaError"))

# The operations of OPA_SERVER_ROUTES (http/opa_native.py).
_OPA_SERVER_PATHS: dict[str, dict] = {
    "/": {
        "get": _operation(
            "OPA's server: its index page",
            {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}},
        ),
        "post": _by_opa(
            "the default decision (data.system.main) for the body as input",
            {"200": _OPA_200, "400": _OPA_400, "404": _NOT_FOUND, "413": _OPA_413},
            {},
        ),
    },
    "/v1/query": {
        "get": _by_opa(
            "a query from the client", {"200": _OPA_200, "400": _OPA_400, "403": _DISABLED}, parameters=[_QUERY]
        ),
        "post": _by_opa(
            "a query from the client, with an input",
            {"200": _OPA_200, "400": _OPA_400, "403": _DISABLED, "413": _OPA_413},
            _ref("QueryRequest"),
        ),
    },
    "/v1/compile/{path}": {
        "post": _by_opa(
            "partial evaluation of the rules at the path, in the format the Accept header names",
            {"200": _OPA_200, "400": _OPA_400, "403": _DISABLED, "413": _OPA_413},
            _ref("CompileAtPathRequest"),
            parameters=[_PATH],
        )
    },
    "/v1/policies": {"get": _by_opa("the policies of the bundle", {"200": _OPA_200})},
    "/v1/policies/{id}": {
        "get": _by_opa("one policy", {"200": _OPA_200, "404": _NOT_FOUND}, parameters=[_ID]),
        "put": _by_opa(
            "write a policy (refused)",
            {"400": _REFUSED, "413": _OPA_413},
            {"type": "string"},
            parameters=[_ID],
            media="text/plain",
        ),
        "delete": _by_opa("delete a policy (refused)", {"400": _REFUSED, "404": _NOT_FOUND}, parameters=[_ID]),
    },
    "/v1/config": {"get": _by_opa("OPA's configuration", {"200": _OPA_200})},
    "/v1/status": {"get": _by_opa("the status plugin's report (not enabled: OPA's 500)", {"200": _OPA_200})},
    "/health/{check}": {
        "get": _operation(
            "OPA's server: a health check written in Rego (data.system.health.<check>)",
            {
                "200": _answer("the check holds", {"type": "object"}),
                "400": _answer("not a check's name (OPA's answer)", _ref("OpaError")),
                "500": _answer("the check fails or is undefined (OPA's answer)", _ref("HealthCheckFailed")),
            },
            parameters=[_CHECK],
        )
    },
}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "ACGS Policy Engine", "version": "2.0.0"},
    "paths": {
        "/v1/evaluate": _evaluate("Decide an ACGS request"),
        "/api/v1/evaluate": _evaluate("Decide an ACGS request (the old service's path)"),
        "/v1/batch/evaluate": {
            "post": _operation(
                "Decide many ACGS requests together",
                {
                    "200": _answer("the decisions, in order", _ref("BatchEvaluateResponse")),
                    "413": _answer("over --max-body-bytes or --batch-max-items", _ref("Detail")),
                    "422": _answer("not an object with a list of requests", _ref("ValidationError")),
                },
                _ref("BatchEvaluateRequest"),
            )
        },
        "/v1/data": _data_v1("the whole data document", []) | _data_writes("the whole data document", []),
        "/v1/data/{path}": _data_v1("the document at the path", [_PATH])
        | _data_writes("the document at the path", [_PATH]),
        "/v0/data": _data_v0("the whole data document", []),
        "/v0/data/{path}": _data_v0("the document at the path", [_PATH]),
        "/v1/batch/data": _batch_data("the whole data document", []),
        "/v1/batch/data/{path}": _batch_data("the document at the path", [_PATH]),
        "/v1/compile": {
            "post": _operation(
                "OPA Compile API (partial evaluation), within --eval-timeout-ms",
                {
                    "200": _answer("the residual queries and support", _ref("CompileResponse")),
                    "400": _OPA_400,
                    "403": _answer("queries from clients are disabled (--disable-query-endpoints)", _ref("OpaError")),
                    "413": _OPA_413,
                    "500": _OPA_500,
                },
                _ref("CompileRequest"),
            )
        },
        "/health": {
            "get": _operation(
                "Liveness, with the dependencies and the bundle",
                {
                    "200": _answer("alive (degraded: a dependency is unreachable)", _ref("Health")),
                    "500": _answer("with ?bundles, as OPA's: no bundle activated yet", _ref("HealthCheckFailed")),
                },
                parameters=[
                    _parameter("bundles", "query", "OPA's health check: also fail until the bundle is activated")
                ],
            )
        },
        "/ready": {
            "get": _operation(
                "Readiness: 503 while warming up and from SIGTERM on",
                {"200": _answer("ready", _ref("Ready")), "503": _answer("not ready", _ref("Detail"))},
            )
        },
        "/metrics": {"get": _operation("Prometheus metrics", {"200": _answer("Prometheus' text format", text=True)})},
        "/openapi.json": {"get": _operation("This document", {"200": _answer("OpenAPI 3.1", {"type": "object"})})},
        **_OPA_SERVER_PATHS,
    },
    "components": {"schemas": _SCHEMAS},
}
