"""OPA's own REST API (Data API v1 and v0, compile), so that clients of the old sidecar keep working.

Semantics follow OPA's server: errors are {"code", "message"}; an evaluation error is a 500
with code internal_error, as OPA answers it.
"""

import json
import re
import time
from collections.abc import Awaitable
from typing import Any

import orjson

from policy_engine.decisions import Decisions
from policy_engine.engine.errors import CompileError, EngineError, InvalidInput
from policy_engine.http.asgi import BodyTooLarge, Request, Response, json_response
from policy_engine.http.ids import decision_id

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def opa_error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"code": code, "message": message})


def body_too_large(limit: int) -> Response:
    return opa_error(413, "invalid_parameter", f"request body exceeds {limit} bytes")


def decode_document(raw: bytes) -> Any:
    """A JSON body, as OPA's server decodes it: InvalidInput when it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"body contains malformed input document: {exc}") from exc


def query_for_path(path: str) -> str:
    """/acgs/constitutional/evaluate -> data.acgs.constitutional.evaluate (quoted where needed)."""
    query = "data"
    for segment in (s for s in path.split("/") if s):
        query += f".{segment}" if _IDENTIFIER.match(segment) else f"[{json.dumps(segment)}]"
    return query


class OpaEndpoints:
    def __init__(self, decisions: Decisions, max_body: int) -> None:
        self.decisions = decisions
        self.max_body = max_body

    async def _body_json(self, request: Request) -> tuple[bool, Any]:
        """(present, document) of a JSON body; raises InvalidInput or BodyTooLarge."""
        raw = await request.body(self.max_body)
        if not raw.strip():
            return False, None
        return True, decode_document(raw)

    async def _answer(self, work: Awaitable[Response]) -> Response:
        """OPA's error answers for what the Data and compile APIs raise."""
        try:
            return await work
        except BodyTooLarge:
            return body_too_large(self.max_body)
        except (InvalidInput, CompileError) as exc:
            return opa_error(400, "invalid_parameter", exc.message)
        except EngineError as exc:
            return opa_error(500, "internal_error", exc.message)

    async def data_v1(self, request: Request, path: str) -> Response:
        return await self._answer(self._data_v1(request, path))

    async def _data_v1(self, request: Request, path: str) -> Response:
        started = time.perf_counter_ns()
        present, body = (False, None) if request.method == "GET" else await self._body_json(request)
        if present and type(body) is not dict:
            raise InvalidInput("body must be an object with an optional input field")
        decided = await self.decisions.decide(query_for_path(path), body.get("input") if present else None)
        if decided.result is None:
            return json_response(200, {})
        document = b'{"result":' + decided.result + b',"decision_id":"' + decision_id().encode() + b'"'
        if request.param("metrics") == "true":
            elapsed = time.perf_counter_ns() - started
            document += b',"metrics":' + orjson.dumps({"timer_server_handler_ns": elapsed})
        return Response(200, document + b"}")

    async def data_v0(self, request: Request, path: str) -> Response:
        return await self._answer(self._data_v0(request, path))

    async def _data_v0(self, request: Request, path: str) -> Response:
        query = query_for_path(path)
        _, input = await self._body_json(request)
        decided = await self.decisions.decide(query, input)
        if decided.result is None:
            return opa_error(404, "undefined_document", f"document missing or undefined: {query}")
        return Response(200, decided.result)

    async def compile(self, request: Request) -> Response:
        return await self._answer(self._compile(request))

    async def _compile(self, request: Request) -> Response:
        present, body = await self._body_json(request)
        if not present or type(body) is not dict or type(body.get("query")) is not str:
            raise InvalidInput("body must be an object with a query string")
        status, payload = await self.decisions.compile(orjson.dumps(body))
        return Response(status, payload)
