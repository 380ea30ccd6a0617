"""Where sealed event lines go: the console, a rotated file, OPA's decision log service.

Sinks are called by the logger's writer thread (or, in durable mode, the file sink by the event
loop once per tick), with a batch of lines. None of them ever blocks a request: the HTTP sink
keeps its own bounded buffer and uploads from its own thread, with retries and backoff.
"""

import gzip
import http.client
import logging
import os
import random
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from policy_engine.decision_logs.chain import last_line_hash

log = logging.getLogger(__name__)

Dropped = Callable[[str, int], None]  # (reason, count)


class Sink(Protocol):
    name: str

    def write(self, lines: list[bytes]) -> None: ...

    def close(self, timeout: float) -> None: ...


class ConsoleSink:
    """JSON lines on standard output, as `opa run` writes decision logs with console = true."""

    name = "console"

    def __init__(self, stream=None) -> None:  # type: ignore[no-untyped-def]
        self.stream = stream or sys.stdout.buffer

    def write(self, lines: list[bytes]) -> None:
        self.stream.write(b"\n".join(lines) + b"\n")
        self.stream.flush()

    def close(self, timeout: float) -> None:
        self.stream.flush()


class FileSink:
    """JSON lines appended to PATH; past `max_bytes` it becomes PATH.1 (PATH.1 becomes PATH.2...),
    `keep` rotated files are kept. One write and one flush per batch: once `write` returns, a
    kill -9 of this process loses nothing of the batch (it is in the kernel's page cache)."""

    name = "file"

    def __init__(self, path: Path, max_bytes: int, keep: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        path.parent.mkdir(parents=True, exist_ok=True)
        self.last_hash = last_line_hash(path)  # the chain continues the file
        self._file = path.open("ab")
        self._size = self._file.tell()

    def write(self, lines: list[bytes]) -> None:
        data = b"\n".join(lines) + b"\n"
        if self._size and self.max_bytes and self._size + len(data) > self.max_bytes:
            self._rotate()
        self._file.write(data)
        self._file.flush()
        self._size += len(data)

    def _rotate(self) -> None:
        self._file.close()
        oldest = self._numbered(self.keep)
        if self.keep <= 0:
            self.path.unlink(missing_ok=True)
        else:
            oldest.unlink(missing_ok=True)
            for n in range(self.keep - 1, 0, -1):
                if self._numbered(n).exists():
                    self._numbered(n).rename(self._numbered(n + 1))
            self.path.rename(self._numbered(1))
        self._file = self.path.open("ab")
        self._size = 0

    def _numbered(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{n}")

    def close(self, timeout: float) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()


class Backoff:
    """OPA's retry delays: exponential from `minimum`, capped, with jitter."""

    def __init__(self, minimum: float, maximum: float) -> None:
        self.minimum, self.maximum = minimum, maximum
        self.failures = 0

    def next(self) -> float:
        self.failures += 1
        delay = min(self.maximum, self.minimum * 2 ** (self.failures - 1))
        return delay * (0.5 + random.random() / 2)

    def reset(self) -> None:
        self.failures = 0


class HttpSink:
    """OPA's decision log service protocol: POST URL/logs, a gzip-compressed JSON array of events,
    each upload at most `upload_limit` compressed bytes, bearer token when given. Events wait in a
    bounded buffer (oldest dropped, counted) while the service is down or slow."""

    name = "http"

    def __init__(
        self,
        url: str,
        dropped: Dropped,
        token: str = "",
        upload_limit: int = 32768,
        capacity: int = 10000,
        retry_min: float = 0.1,
        retry_max: float = 10.0,
        timeout: float = 5.0,
        on_error: Callable[[], None] = lambda: None,
    ) -> None:
        parts = urlsplit(url.rstrip("/") + "/logs")
        self.scheme, self.netloc, self.target = parts.scheme, parts.netloc, parts.path
        self.token = token
        self.upload_limit = upload_limit
        self.capacity = capacity
        self.dropped = dropped
        self.on_error = on_error
        self.timeout = timeout
        self.backoff = Backoff(retry_min, retry_max)
        self.uploaded = 0
        self._queue: deque[bytes] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._deadline = float("inf")
        self._conn: http.client.HTTPConnection | None = None
        self._thread = threading.Thread(target=self._run, name="decision-log-upload", daemon=True)
        self._thread.start()

    def write(self, lines: list[bytes]) -> None:
        with self._lock:
            self._queue.extend(lines)
            self._trim()
        self._wake.set()

    def _trim(self) -> None:
        over = len(self._queue) - self.capacity
        if over > 0:
            for _ in range(over):
                self._queue.popleft()
            self.dropped("upload_buffer_full", over)

    def pending(self) -> int:
        return len(self._queue)

    def close(self, timeout: float) -> None:
        """Uploads what is buffered, for at most `timeout` seconds."""
        self._deadline = time.monotonic() + timeout
        self._closing = True
        self._wake.set()
        self._thread.join(timeout + self.timeout)
        with self._lock:
            if self._queue:
                self.dropped("shutdown", len(self._queue))
                self._queue.clear()

    def _run(self) -> None:
        while True:
            with self._lock:
                taken, body = self._take()
            if not taken:
                if self._closing:
                    return
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            if self._post(body):
                self.uploaded += len(taken)
                self.backoff.reset()
                continue
            with self._lock:  # back at the front, oldest first; the buffer's bound still holds
                self._queue.extendleft(reversed(taken))
                self._trim()
            self.on_error()
            delay = self.backoff.next()
            if self._closing:
                if time.monotonic() + delay > self._deadline:
                    return
                time.sleep(delay)
            else:
                self._wake.wait(delay)
                self._wake.clear()

    def _take(self) -> tuple[list[bytes], bytes]:
        """The oldest events that fit the upload limit once compressed, out of the buffer, and
        their gzip body. An event larger than any upload is dropped, as OPA drops it."""
        while self._queue:
            budget, count = 8 * self.upload_limit, 0
            for line in self._queue:
                budget -= len(line) + 1
                if budget < 0 and count:
                    break
                count += 1
            while True:
                lines = [self._queue[i] for i in range(count)]
                body = gzip.compress(b"[" + b",".join(lines) + b"]", compresslevel=6)
                if len(body) <= self.upload_limit or count == 1:
                    break
                count = max(1, count // 2)
            if len(body) <= self.upload_limit:
                for _ in range(count):
                    self._queue.popleft()
                return lines, body
            self._queue.popleft()
            self.dropped("too_large", 1)
        return [], b""

    def _post(self, body: bytes) -> bool:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            if self._conn is None:
                kind = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
                self._conn = kind(self.netloc, timeout=self.timeout)
            self._conn.request("POST", self.target, body, headers)
            response = self._conn.getresponse()
            response.read()
            if 200 <= response.status < 300:
                return True
            log.warning("decision log upload answered %d", response.status)
        except (OSError, http.client.HTTPException) as exc:
            log.warning("decision log upload failed: %s", exc)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        return False
