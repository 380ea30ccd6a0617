"""OPA's REST API where the service has no fast path of its own: answered by OPA's own server.

The bridge runs OPA's REST server (bridge/opa_server.go) over the active bundle, with no
listener: this module hands it the requests the service's fast paths do not answer, so those
answers are OPA's own. That covers every OPA parameter (`explain`, `instrument`, `metrics`,
`provenance`, `strict-builtin-errors`, `pretty`, GET's `input`), `/v1/query`, `POST /` (the
default decision), `/v1/policies`, `/v1/config`, `/v1/status`, `/health/<check>`, `/v1/compile`
and its `/v1/compile/{path}`, gzip and YAML request bodies, and writes (refused: under the
bundle's roots by OPA itself, elsewhere by the bridge, both with OPA's 400).

One server per bundle revision, built on first use (off the event loop) and dropped with its
snapshot. With decision logging on, the server names and hands back each decision it makes
(bridge/decision_logs.go), and each becomes an event of the service's log; with it off, the
server is built without its decision logger and pays nothing.
"""

import asyncio
import time
import weakref
from urllib.parse import quote, urlsplit

import msgspec

from policy_engine.bundle.sources import is_url
from policy_engine.config import Settings
from policy_engine.decision_logs.event import DecisionEvent
from policy_engine.decision_logs.logger import DecisionLogger
from policy_engine.decisions import Decisions, EmbeddedDecisions
from policy_engine.engine.bridge import NativeDecision
from policy_engine.engine.engine import OpaServer
from policy_engine.engine.errors import EngineError
from policy_engine.http.acgs_endpoints import request_id
from policy_engine.http.asgi import Request, Response
from policy_engine.http.opa_errors import opa_error

# What OPA's server answers that the client should see; the rest (lengths, dates) is our own.
_PASSED_HEADERS = ("content-type", "content-encoding", "vary", "allow", "location", "www-authenticate")

_DEFAULT_404 = "404 page not found"

# The endpoints of OPA's own server that no route of the app answers first: requests reach them
# through App.route's fallback for OPA's paths (the OpenAPI document lists them too).
OPA_SERVER_ROUTES: dict[str, tuple[str, ...]] = {
    "/": ("GET", "POST"),
    "/v1/query": ("GET", "POST"),
    "/v1/compile/{path}": ("POST",),
    "/v1/policies": ("GET",),
    "/v1/policies/{id}": ("GET", "PUT", "DELETE"),
    "/v1/config": ("GET",),
    "/v1/status": ("GET",),
    "/health/{check}": ("GET",),
}


def opa_config(settings: Settings) -> dict:
    """The configuration OPA would run with for these settings, for /v1/config (which OPA
    answers with the credentials taken out): a bundle server is a service and a bundle."""
    if not is_url(settings.bundle):
        return {}
    parts = urlsplit(settings.bundle)
    service: dict = {"url": f"{parts.scheme}://{parts.netloc}"}
    if settings.bundle_token:
        service["credentials"] = {"bearer": {"token": settings.bundle_token}}
    polling = {"min_delay_seconds": settings.bundle_min_delay, "max_delay_seconds": settings.bundle_max_delay}
    if settings.bundle_long_poll_seconds:
        polling["long_polling_timeout_seconds"] = settings.bundle_long_poll_seconds
    resource = parts.path + (f"?{parts.query}" if parts.query else "")
    bundle = {"service": "bundle", "resource": resource, "polling": polling}
    return {"services": {"bundle": service}, "bundles": {"bundle": bundle}}


class _Body(msgspec.Struct):
    input: msgspec.Raw = msgspec.Raw()


_body = msgspec.json.Decoder(_Body)


def client_input(request: Request, body: bytes) -> bytes | None:
    """The input as the client wrote it, where its body holds one (POST /v1/data, /v1/query)
    in JSON: the log keeps the client's bytes, as the fast path's events do."""
    if request.method != "POST" or not request.path.startswith(("/v1/data", "/v1/query")):
        return None
    content_type = request.header(b"content-type")
    if content_type is not None and b"yaml" in content_type.lower():
        return None
    try:
        given = bytes(_body.decode(body).input)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return given if given not in (b"", b"null") else None


class OpaNative:
    def __init__(self, decisions: Decisions, settings: Settings, logs: DecisionLogger | None = None) -> None:
        self.decisions = decisions
        self.logs = logs
        self.options = {
            # `opa run -b PATH` names its bundle PATH; a bundle server's is "bundle", as configured.
            "bundle_name": "bundle" if is_url(settings.bundle) else settings.bundle,
            "default_decision": settings.default_decision,
            "config": opa_config(settings),
            "decision_logs": logs is not None,
        }
        self.timeout = settings.eval_timeout_ms / 1000
        self._servers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._building = asyncio.Lock()

    async def _server(self) -> OpaServer | None:
        decisions = self.decisions
        if not isinstance(decisions, EmbeddedDecisions):
            return None
        snapshot = decisions.snapshot
        server = self._servers.get(snapshot)
        if server is None:
            async with self._building:
                server = self._servers.get(snapshot)
                if server is None:
                    server = await asyncio.to_thread(snapshot.engine.opa_server, self.options)
                    self._servers[snapshot] = server
        return server

    async def answer(self, request: Request, body: bytes) -> Response:
        """OPA's answer to this request (its body already read, as the client sent it)."""
        try:
            server = await self._server()
        except EngineError as exc:
            return opa_error(500, "internal_error", exc.message)
        if server is None:
            return opa_error(501, "not_implemented", "this endpoint needs the embedded engine (--engine embedded)")
        # The target as the client wrote it (still percent-encoded): decoded, a control character
        # in a path is a URL OPA's server cannot parse (it was a 500 with Go's parse error).
        path = request.scope.get("raw_path") or quote(request.path).encode()
        target = path.decode("latin-1") + ("?" + request.query.decode("latin-1") if request.query else "")
        head = {
            "method": request.method,
            "target": target,
            # The body was read (and decompressed) by the service: its length and encoding are now its own.
            "headers": [
                [k.decode("latin-1"), v.decode("latin-1")]
                for k, v in request.scope["headers"]
                if k not in (b"content-encoding", b"content-length")
            ],
        }
        started = time.perf_counter_ns()
        try:
            answered, payload, decided = await asyncio.to_thread(server.serve, head, body, self.timeout)
        except EngineError as exc:
            return opa_error(500, "internal_error", exc.message)
        if decided and self.logs is not None:
            await self._log(request, body, decided, time.perf_counter_ns() - started)
        return _response(answered, payload)

    async def _log(self, request: Request, body: bytes, decided: list[NativeDecision], elapsed_ns: int) -> None:
        """Each decision OPA's server made, handed to the log (awaited in durable mode)."""
        assert self.logs is not None
        given = client_input(request, body) if len(decided) == 1 else None
        waiting = []
        for decision in decided:
            future = self.logs.log(native_event(request, decision, elapsed_ns, given))
            if future is not None:
                waiting.append(future)
        for future in waiting:
            await future


def native_event(
    request: Request, decision: NativeDecision, elapsed_ns: int, given: bytes | None = None
) -> DecisionEvent:
    """The event of a decision OPA's server made, in the fast path's format with OPA's metrics.
    `given`: the input as the client wrote it (used when it is the input OPA decided on)."""
    facts = decision.facts
    metrics = facts.get("metrics") or {}
    if not metrics.get("timer_server_handler_ns"):  # OPA logs ad-hoc queries before stopping it
        metrics["timer_server_handler_ns"] = elapsed_ns
    input_json = given if given is not None and decision.input is not None else decision.input
    return DecisionEvent(
        facts["decision_id"],
        facts.get("path", ""),
        input_json,
        decision.result,
        facts.get("timestamp_ns") or time.time_ns(),
        metrics["timer_server_handler_ns"],
        request.scope.get("client"),
        facts.get("revision", ""),
        request_id=request_id(request),
        error=facts.get("error"),
        query=facts.get("query"),
        metrics=metrics,
    )


def _response(head: dict, payload: bytes) -> Response:
    status = head["status"]
    headers = {name.lower(): values for name, values in head["headers"].items()}
    # OPA's router answers unknown paths and methods in plain text; clients of its API read JSON.
    if status == 404 and payload.strip() == _DEFAULT_404.encode():
        return opa_error(404, "resource_not_found", "no such endpoint")
    if status == 405 and not payload.strip():
        return opa_error(405, "method_not_allowed", "method not allowed on this endpoint")
    passed = [(name.encode(), value.encode()) for name in _PASSED_HEADERS for value in headers.get(name, ()) if value]
    return Response(status, payload, passed)
