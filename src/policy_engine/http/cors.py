"""CORS for browsers, with `--cors-origins` only: off (the default), the app is served unwrapped
and requests pay nothing for it.

The default is no origin at all: a policy decision point is called by services, and a browser
that may call it can read decisions and, through the Data API, policy data, from any page its
user opens (the old service's `*`). `--cors-origins '*'` brings that back; a list of origins is
the narrower choice. Credentials (cookies) are never allowed: the API has none to carry.
"""

from typing import Any

METHODS = b"GET, POST"
MAX_AGE = b"600"


class Cors:
    """ASGI middleware: preflights answered here, the allowed origin added to every response."""

    def __init__(self, app: Any, origins: str) -> None:
        self.app = app
        listed = {o.strip().rstrip("/") for o in origins.split(",") if o.strip()}
        self.any = "*" in listed
        self.origins = frozenset(o.encode() for o in listed)

    def _allowed(self, origin: bytes) -> bytes | None:
        """The Access-Control-Allow-Origin value for `origin`, or None when it may not call."""
        if self.any:
            return b"*"
        return origin if origin in self.origins else None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        if origin is None:
            return await self.app(scope, receive, send)
        allowed = self._allowed(origin)
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            return await self._preflight(allowed, headers.get(b"access-control-request-headers"), send)
        if allowed is None:
            return await self.app(scope, receive, send)  # no CORS headers: the browser refuses the answer
        added = [(b"access-control-allow-origin", allowed)]
        if not self.any:
            added.append((b"vary", b"Origin"))

        async def send_with_cors(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *added]}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, allowed: bytes | None, requested: bytes | None, send: Any) -> None:
        if allowed is None:
            body = b'{"detail":"origin not allowed (--cors-origins)"}'
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 403, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        headers = [
            (b"access-control-allow-origin", allowed),
            (b"access-control-allow-methods", METHODS),
            (b"access-control-max-age", MAX_AGE),
            (b"content-length", b"0"),
        ]
        if requested:
            headers.append((b"access-control-allow-headers", requested))
        if not self.any:
            headers.append((b"vary", b"Origin"))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
