"""OPA's own REST API (Data API v1 and v0, compile), so that clients of the old sidecar keep working.

Semantics follow OPA's server: errors are {"code", "message"}; an evaluation error is a 500
with code internal_error, as OPA answers it.
"""

import json
import re
import time
from collections.abc import Awaitable
from typing import Any

import msgspec
import orjson

from policy_engine import jsontext
from policy_engine.decisions import Decisions
from policy_engine.engine.errors import CompileError, InvalidInput
from policy_engine.http.asgi import BodyTooLarge, Request, Response, json_response
from policy_engine.http.failures import public_message
from policy_engine.http.ids import decision_id

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def opa_error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"code": code, "message": message})


def body_too_large(limit: int) -> Response:
    return opa_error(413, "invalid_parameter", f"request body exceeds {limit} bytes")


class _DataRequest(msgspec.Struct):
    input: msgspec.Raw = msgspec.Raw()  # empty: no input given


_data_request = msgspec.json.Decoder(_DataRequest)


def decode_document(raw: bytes, decoder: msgspec.json.Decoder) -> Any:
    """A JSON body decoded as OPA's server reads it (its Raw fields exact): InvalidInput when it is not."""
    try:
        return jsontext.decode(raw, decoder)[0]
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"body must be an object: {exc}") from exc
    except jsontext.DecodeError as exc:
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

    async def _body(self, request: Request) -> bytes | None:
        """The body, None when empty; raises BodyTooLarge."""
        raw = await request.body(self.max_body)
        return raw if raw.strip() else None

    async def _answer(self, work: Awaitable[Response]) -> Response:
        """OPA's error answers for what the Data and compile APIs raise."""
        try:
            return await work
        except BodyTooLarge:
            return body_too_large(self.max_body)
        except (InvalidInput, CompileError) as exc:
            return opa_error(400, "invalid_parameter", exc.message)
        except Exception as exc:  # OPA's 500 for an evaluation error; an internal one is logged, not shown
            return opa_error(500, "internal_error", public_message(exc, decision_id()))

    async def data_v1(self, request: Request, path: str) -> Response:
        return await self._answer(self._data_v1(request, path))

    async def _data_v1(self, request: Request, path: str) -> Response:
        started = time.perf_counter_ns()
        raw = None if request.method == "GET" else await self._body(request)
        given = bytes(decode_document(raw, _data_request).input) if raw is not None else b""
        # OPA's server reads `"input": null` as no input, like an absent one.
        decided = await self.decisions.decide(query_for_path(path), given if given not in (b"", b"null") else None)
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
        decided = await self.decisions.decide(query, await self._body(request))
        if decided.result is None:
            return opa_error(404, "undefined_document", f"document missing or undefined: {query}")
        return Response(200, decided.result)

    async def compile(self, request: Request) -> Response:
        return await self._answer(self._compile(request))

    async def _compile(self, request: Request) -> Response:
        raw = await self._body(request)
        try:
            body = jsontext.loads(raw) if raw is not None else None
        except jsontext.DecodeError as exc:
            raise InvalidInput(f"body contains malformed JSON: {exc}") from exc
        if type(body) is not dict or type(body.get("query")) is not str:
            raise InvalidInput("body must be an object with a query string")
        status, payload = await self.decisions.compile(raw)
        return Response(status, payload)
