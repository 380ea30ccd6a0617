"""Minimal ASGI plumbing: the request, reading a bounded body, sending a response.

Hand-written on purpose: a framework's per-request objects cost more than the decision.
"""

import zlib
from typing import Any

import msgspec
import orjson

JSON = [(b"content-type", b"application/json")]


class BodyTooLarge(Exception):
    pass


class Request(msgspec.Struct):
    method: str
    path: str
    query: bytes
    scope: dict
    receive: Any

    def param(self, name: str) -> str | None:
        for pair in self.query.decode("latin-1").split("&"):
            key, _, value = pair.partition("=")
            if key == name:
                return value
        return None

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.scope["headers"]:
            if key == name:
                return value
        return None

    async def body(self, limit: int) -> bytes:
        """The body, gzip decompressed (within `limit` too); raises BodyTooLarge."""
        raw = await self.raw_body(limit)
        encoding = self.header(b"content-encoding")
        return raw if encoding is None else decoded(raw, encoding, limit)

    async def raw_body(self, limit: int) -> bytes:
        """The body as it came; raises BodyTooLarge."""
        declared = self.header(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge()
        chunks, size = [], 0
        while True:
            message = await self.receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def replay(self, raw: bytes) -> None:
        """The body read once (by the authorizer) is read again by the endpoint."""

        async def receive() -> dict:
            return {"type": "http.request", "body": raw, "more_body": False}

        self.receive = receive


def decoded(raw: bytes, encoding: bytes, limit: int) -> bytes:
    """A gzip body decompressed, up to `limit` bytes (else BodyTooLarge, as OPA's server answers
    413). A body that is not gzip, or another encoding, is left as it came: it then fails as
    the malformed JSON it is."""
    if encoding.strip().lower() != b"gzip":
        return raw
    inflate = zlib.decompressobj(wbits=31)
    try:
        out = inflate.decompress(raw, limit + 1)
    except zlib.error:
        return raw
    if len(out) > limit:
        raise BodyTooLarge()
    return out if inflate.eof else raw


class Response(msgspec.Struct):
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = msgspec.field(default_factory=lambda: JSON)


def json_response(status: int, document: Any) -> Response:
    return Response(status, orjson.dumps(document))


async def send(send_fn: Any, response: Response) -> None:
    headers = [*response.headers, (b"content-length", str(len(response.body)).encode())]
    await send_fn({"type": "http.response.start", "status": response.status, "headers": headers})
    await send_fn({"type": "http.response.body", "body": response.body})
