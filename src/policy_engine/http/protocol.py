"""uvicorn's httptools protocol with the bounds it lacks: a connection is never held for free.

uvicorn bounds the idle time between requests (keep-alive) and, with limit_concurrency, the
connections and tasks of a worker, but with httptools nothing bounds the size or count of a
request's headers, nor the time a client may take to send them or the body: 10 connections
trickling 50 MB of headers, or thousands that never send a byte, were held forever. This
subclass adds those bounds where they belong, in the protocol, at the cost of a length check
per read and one timer per request head:

- the head (request line and headers) within `max_head_bytes` and `max_headers`, else 431;
- the head within `head_timeout` seconds of the connection (or of the previous response),
  the body within `body_timeout` seconds of the head, else 408 and the connection closes;
- a body answered before it was read (413) is read and discarded up to `LINGER_BYTES`, so that
  a client that sends it whole before reading still gets its answer, then the connection closes.
"""

import asyncio
from dataclasses import dataclass
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from policy_engine.config import Settings


@dataclass(frozen=True)
class Limits:
    max_head_bytes: int = 64 * 1024
    max_headers: int = 100
    head_timeout: float = 10.0
    body_timeout: float = 30.0


@cache
def limits() -> Limits:
    """The worker's limits, from the settings `serve` wrote into its environment."""
    s = Settings.from_env()
    return Limits(s.max_header_bytes, s.max_headers, s.header_timeout, s.body_timeout)


LINGER_BYTES = 16 * 1024 * 1024


def _answer(status: bytes) -> bytes:
    body = status.split(b" ", 1)[1]
    return b"HTTP/1.1 %b\r\ncontent-type: text/plain\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%b" % (
        status,
        len(body),
        body,
    )


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.limits = limits()
        self._in_head = True
        self._head_bytes = 0
        self._header_count = 0
        self._timer: asyncio.TimerHandle | None = None
        self._discarded = 0
        self._message_complete = False
        self._ssl_object: Any = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._ssl_object = transport.get_extra_info("ssl_object")  # None without TLS
        self._arm(self.limits.head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            end = data.find(b"\r\n\r\n")
            self._head_bytes += len(data) if end < 0 else end
            if self._head_bytes > self.limits.max_head_bytes:
                self._refuse(b"431 Request Header Fields Too Large")
                return
        if not self.transport.is_closing():
            super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._header_count, self._discarded = True, 0, 0, 0
        self._message_complete = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count <= self.limits.max_headers:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._header_count > self.limits.max_headers:
            self._refuse(b"431 Request Header Fields Too Large")
            return
        self._arm(self.limits.body_timeout)  # until the message is complete
        if self._ssl_object is not None:  # the verified client certificate, for --authentication tls
            self.scope["tls_peer_certificate"] = self._ssl_object.getpeercert()
            self.scope["tls_peer_certificate_der"] = self._ssl_object.getpeercert(binary_form=True)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_complete:
            self._discarded += len(body)  # answered already (413): read to let the client read it
            if self._discarded > LINGER_BYTES:
                self.transport.close()
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        self._message_complete = True
        if self.cycle is not None and self.cycle.response_complete:
            self._await_next_head()  # the rest of a body answered early (413) is read: next request
        if not self.transport.is_closing():
            super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Answered before its body was all read (413): the rest is still body, not the next head.
        if self._message_complete:
            self._await_next_head()

    def _await_next_head(self) -> None:
        if not self.transport.is_closing():
            self._in_head, self._head_bytes = True, 0
            self._arm(self.limits.head_timeout)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self.cycle is not None and self.cycle.response_complete and not self._message_complete:
            self.transport.close()  # the rest of a body answered early never came: no second answer
        elif self.cycle is None or self.cycle.response_complete or self._in_head:
            self._refuse(b"408 Request Timeout")
        else:
            # The body stalled while the application waits for it: the cycle sees a disconnect.
            self.transport.close()

    def _refuse(self, status: bytes) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(_answer(status))
            self.transport.close()
