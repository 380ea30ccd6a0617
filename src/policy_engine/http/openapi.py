"""The OpenAPI document of the service (served at /openapi.json; the fuzz tests read it)."""

_ACGS_REQUEST = {
    "type": "object",
    "required": ["action"],
    "properties": {
        "action": {"type": "string"},
        "agent_id": {"type": ["string", "null"]},
        "input_data": {"type": "object"},
        "context": {"type": ["object", "null"]},
    },
}
_ACGS_RESPONSE = {
    "type": "object",
    "required": ["allow", "violations", "reason", "confidence_score", "evaluation_time_ms", "cache_hit"],
    "properties": {
        "allow": {"type": "boolean"},
        "violations": {"type": "array", "items": {"type": "string"}},
        "reason": {"type": ["string", "null"]},
        "confidence_score": {"type": ["number", "null"]},
        "evaluation_time_ms": {"type": "integer"},
        "evaluation_time_us": {"type": "number"},
        "cache_hit": {"type": "boolean"},
        "policy_version": {"type": "string"},
        "decision_id": {"type": "string"},
        "rule": {},
    },
}
_ERROR = {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}


def _json_body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ok(schema: dict | None = None) -> dict:
    content = {"application/json": {"schema": schema}} if schema else {}
    return {"200": {"description": "OK", "content": content}}


_EVALUATE = {"post": {"requestBody": _json_body(_ACGS_REQUEST), "responses": _ok(_ACGS_RESPONSE)}}
_PATH_PARAM = [{"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}]

OPENAPI = {
    "openapi": "3.1.0",  # its schemas use JSON Schema 2020-12 types (["string", "null"])
    "info": {"title": "ACGS Policy Engine", "version": "2.0.0"},
    "paths": {
        "/v1/evaluate": _EVALUATE,
        "/api/v1/evaluate": _EVALUATE,
        "/health": {"get": {"responses": _ok()}},
        "/ready": {"get": {"responses": {**_ok(), "503": {"description": "not ready"}}}},
        "/metrics": {"get": {"responses": {"200": {"description": "Prometheus text"}}}},
        "/v1/data/{path}": {
            "get": {"parameters": _PATH_PARAM, "responses": _ok()},
            "post": {
                "parameters": _PATH_PARAM,
                "requestBody": _json_body({"type": "object", "properties": {"input": {}}}),
                "responses": _ok(),
            },
        },
        "/v0/data/{path}": {
            "post": {
                "parameters": _PATH_PARAM,
                "requestBody": _json_body({}),
                "responses": {**_ok(), "404": {"description": "undefined"}},
            }
        },
        "/v1/batch/evaluate": {
            "post": {
                "requestBody": _json_body(
                    {"type": "object", "required": ["requests"], "properties": {"requests": {"type": "array"}}}
                ),
                "responses": {
                    **_ok(
                        {
                            "type": "object",
                            "required": ["responses"],
                            "properties": {"responses": {"type": "array"}},
                        }
                    ),
                    "413": {"description": "too many items"},
                    "422": {"description": "not a list of requests"},
                },
            }
        },
        "/v1/batch/data/{path}": {
            "post": {
                "parameters": _PATH_PARAM,
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["inputs"],
                        "properties": {"inputs": {"type": "object"}, "common_input": {}},
                    }
                ),
                "responses": {
                    **_ok({"type": "object", "properties": {"batch_decision_id": {"type": "string"}, "responses": {}}}),
                    "207": {"description": "some items failed"},
                    "400": {"description": "invalid", "content": {"application/json": {"schema": _ERROR}}},
                },
            }
        },
        "/v1/compile": {
            "post": {
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "required": ["query"],
                        "properties": {
                            "query": {"type": "string"},
                            "input": {},
                            "unknowns": {"type": "array", "items": {"type": "string"}},
                        },
                    }
                ),
                "responses": {**_ok(), "400": {"description": "invalid"}},
            }
        },
    },
}
