"""OPA's REST API where the service has no fast path of its own: answered by OPA's own server.

The bridge runs OPA's REST server (bridge/opa_server.go) over the active bundle, with no
listener: this module hands it the requests the service's fast paths do not answer, so those
answers are OPA's own. That covers every OPA parameter (`explain`, `instrument`, `metrics`,
`provenance`, `strict-builtin-errors`, `pretty`, GET's `input`), `/v1/query`, `POST /` (the
default decision), `/v1/policies`, `/v1/config`, `/v1/status`, `/health/<check>`, `/v1/compile`
and its `/v1/compile/{path}`, gzip and YAML request bodies, and writes (refused: under the
bundle's roots by OPA itself, elsewhere by the bridge, both with OPA's 400).

One server per bundle revision, built on first use (off the event loop) and dropped with its
snapshot.
"""

import asyncio
import weakref
from urllib.parse import quote, urlsplit

from policy_engine.bundle.sources import is_url
from policy_engine.config import Settings
from policy_engine.decisions import Decisions, EmbeddedDecisions
from policy_engine.engine.engine import OpaServer
from policy_engine.engine.errors import EngineError
from policy_engine.http.asgi import Request, Response
from policy_engine.http.opa_errors import opa_error

# What OPA's server answers that the client should see; the rest (lengths, dates) is our own.
_PASSED_HEADERS = ("content-type", "content-encoding", "vary", "allow", "location", "www-authenticate")

_DEFAULT_404 = "404 page not found"


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


class OpaNative:
    def __init__(self, decisions: Decisions, settings: Settings) -> None:
        self.decisions = decisions
        self.options = {
            # `opa run -b PATH` names its bundle PATH; a bundle server's is "bundle", as configured.
            "bundle_name": "bundle" if is_url(settings.bundle) else settings.bundle,
            "default_decision": settings.default_decision,
            "config": opa_config(settings),
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
        try:
            answered, payload = await asyncio.to_thread(server.serve, head, body, self.timeout)
        except EngineError as exc:
            return opa_error(500, "internal_error", exc.message)
        return _response(answered, payload)


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
