"""A local bundle server for the tests: OPA's bundle protocol (ETag, 304, bearer token, long
polling), which the test can publish to, slow down, and take down."""

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from policy_engine.bundle.sources import BUNDLE_MEDIA_TYPE


class BundleServer:
    def __init__(self, token: str = "") -> None:
        self.token = token
        self.payload = b""
        self.etag = ""
        self.delay = 0.0  # seconds before each answer
        self.requests: list[dict[str, str]] = []  # the headers of every request received
        self._changed = threading.Condition()
        self._httpd: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bundles/bundle.tar.gz"

    def publish(self, payload: bytes) -> None:
        with self._changed:
            self.payload = payload
            self.etag = '"' + hashlib.sha256(payload).hexdigest()[:16] + '"'
            self._changed.notify_all()

    def start(self, port: int = 0) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(dict(self.headers.items()))
                time.sleep(server.delay)
                if server.token and self.headers.get("Authorization") != f"Bearer {server.token}":
                    self._answer(401, b"unauthorized")
                    return
                wait = _long_poll_wait(self.headers.get("Prefer", ""))
                with server._changed:
                    if wait and self.headers.get("If-None-Match") == server.etag:
                        server._changed.wait(wait)
                    payload, etag = server.payload, server.etag
                if not payload:
                    self._answer(404, b"no bundle published")
                elif self.headers.get("If-None-Match") == etag:
                    self._answer(304, b"", etag)
                else:
                    self._answer(200, payload, etag)

            def _answer(self, status: int, body: bytes, etag: str = "") -> None:
                self.send_response(status)
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Type", BUNDLE_MEDIA_TYPE if status == 200 else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._httpd is not None:
            with self._changed:
                self._changed.notify_all()
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


def _long_poll_wait(prefer: str) -> float:
    for part in prefer.split(";"):
        name, _, value = part.strip().partition("=")
        if name == "wait" and value.isdigit():
            return float(value)
    return 0.0


@contextlib.contextmanager
def bundle_server(token: str = "") -> Iterator[BundleServer]:
    server = BundleServer(token)
    server.start()
    try:
        yield server
    finally:
        server.stop()
