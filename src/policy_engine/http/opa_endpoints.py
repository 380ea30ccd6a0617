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

from policy_engine import jsontext
from policy_engine.decision_logs.event import DecisionEvent
from policy_engine.decision_logs.logger import DecisionLogger
from policy_engine.decisions import Decided, Decisions
from policy_engine.engine.errors import CompileError, EngineError, InvalidInput
from policy_engine.http.acgs_endpoints import request_id
from policy_engine.http.asgi import BodyTooLarge, Request, Response, json_response
from policy_engine.http.failures import public_message
from policy_engine.http.ids import decision_id
from policy_engine.http.opa_errors import body_too_large, opa_error
from policy_engine.http.opa_native import OpaNative

__all__ = ["OpaEndpoints", "body_too_large", "decode_document", "opa_error", "query_for_path"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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


def plain_json(request: Request) -> bool:
    """A JSON body as the fast path reads it: no Content-Encoding, no other Content-Type."""
    for name, value in request.scope["headers"]:
        if name == b"content-encoding":
            return False
        if name == b"content-type" and not value.lower().startswith(b"application/json"):
            return False
    return True


def data_event(
    request: Request,
    identifier: str,
    path: str,
    input_json: bytes | None,
    decided: Decided | None,
    elapsed_ns: int,
    batch_id: str | None = None,
    error: str | None = None,
) -> DecisionEvent:
    """A Data API decision's event (`decided` None: it failed with `error`)."""
    return DecisionEvent(
        identifier,
        path.strip("/"),
        input_json,
        decided.result if decided is not None else None,
        time.time_ns(),
        elapsed_ns,
        request.scope.get("client"),
        decided.revision if decided is not None else "",
        decided.cache_hit if decided is not None else False,
        decided.tier if decided is not None else "",
        request_id=request_id(request),
        batch_decision_id=batch_id,
        error=error,
    )


class OpaEndpoints:
    def __init__(
        self, decisions: Decisions, max_body: int, native: OpaNative, logs: DecisionLogger | None = None
    ) -> None:
        self.decisions = decisions
        self.max_body = max_body
        self.native = native
        self.logs = logs

    async def _logged(
        self, request: Request, path: str, input_json: bytes | None, started: int, identifier: str
    ) -> Decided:
        """The decision, its event handed to the log (with OPA's error when it failed)."""
        assert self.logs is not None
        try:
            decided = await self.decisions.decide(query_for_path(path), input_json)
        except EngineError as exc:
            elapsed = time.perf_counter_ns() - started
            self.logs.log(data_event(request, identifier, path, input_json, None, elapsed, error=exc.message))
            raise
        elapsed = time.perf_counter_ns() - started
        waiting = self.logs.log(data_event(request, identifier, path, input_json, decided, elapsed))
        if waiting is not None:
            await waiting
        return decided

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

    async def by_opa(self, request: Request, path: str = "") -> Response:
        """OPA's own server answers (opa_native): its parameters, endpoints and formats."""
        try:
            body = await request.body(self.max_body)
        except BodyTooLarge:
            return body_too_large(self.max_body)
        return await self.native.answer(request, body)

    async def data_v1(self, request: Request, path: str) -> Response:
        # Any parameter (explain, metrics, input on GET, ...) or another format: OPA's server.
        # data.system (its version, its authz and health policies) is OPA's server's too.
        if request.query or path.startswith("/system") or not plain_json(request):
            return await self.by_opa(request)
        return await self._answer(self._data_v1(request, path))

    async def _data_v1(self, request: Request, path: str) -> Response:
        started = time.perf_counter_ns()
        raw = None if request.method == "GET" else await self._body(request)
        given = bytes(decode_document(raw, _data_request).input) if raw is not None else b""
        # OPA's server reads `"input": null` as no input, like an absent one.
        input_json = given if given not in (b"", b"null") else None
        identifier = decision_id()
        if self.logs is None:
            decided = await self.decisions.decide(query_for_path(path), input_json)
            if decided.result is None:
                return json_response(200, {})
        else:
            decided = await self._logged(request, path, input_json, started, identifier)
            if decided.result is None:  # OPA names the decision when it logs it, even an undefined one
                return json_response(200, {"decision_id": identifier})
        return Response(200, b'{"result":' + decided.result + b',"decision_id":"' + identifier.encode() + b'"}')

    async def data_v0(self, request: Request, path: str) -> Response:
        return await self._answer(self._data_v0(request, path))

    async def _data_v0(self, request: Request, path: str) -> Response:
        query = query_for_path(path)
        body = await self._body(request)
        if self.logs is None:
            decided = await self.decisions.decide(query, body)
        else:
            decided = await self._logged(request, path, body, time.perf_counter_ns(), decision_id())
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
