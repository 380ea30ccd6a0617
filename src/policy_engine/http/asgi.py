"""Minimal ASGI plumbing: the request, reading a bounded body, sending a response.

Hand-written on purpose: a framework's per-request objects cost more than the decision.
"""

from dataclasses import dataclass, field
from typing import Any

import orjson

JSON = [(b"content-type", b"application/json")]


class BodyTooLarge(Exception):
    pass


@dataclass(slots=True)
class Request:
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


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=lambda: JSON)


def json_response(status: int, document: Any) -> Response:
    return Response(status, orjson.dumps(document))


async def send(send_fn: Any, response: Response) -> None:
    headers = [*response.headers, (b"content-length", str(len(response.body)).encode())]
    await send_fn({"type": "http.response.start", "status": response.status, "headers": headers})
    await send_fn({"type": "http.response.body", "body": response.body})
