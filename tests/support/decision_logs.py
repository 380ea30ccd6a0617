"""Decision log tests' helpers: a real OPA that logs to its console, a log service receiver,
bundles with system.log rules, and reading what the service wrote."""

import contextlib
import gzip
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson

from policy_engine.bench.opa_server import free_port, stop, wait_for_http
from policy_engine.bundle.locate import default_bundle, opa_binary


def bundle_with(tmp: Path, name: str, rego: dict[str, str], revision: str = "test-1") -> Path:
    """The project's bundle plus these Rego files (path -> text), with `system` among its roots."""
    bundle = tmp / name
    shutil.copytree(default_bundle(), bundle)
    (bundle / ".manifest").write_bytes(orjson.dumps({"revision": revision, "roots": ["acgs", "system"]}))
    for path, text in rego.items():
        (bundle / path).parent.mkdir(parents=True, exist_ok=True)
        (bundle / path).write_text(text)
    return bundle


@contextlib.contextmanager
def opa_logging_to_console(bundle: Path, tmp: Path) -> Iterator[tuple[str, Path]]:
    """`opa run --server` with decision_logs.console = true: (its URL, the file its output goes to)."""
    port = free_port()
    config = tmp / "opa-config.yaml"
    config.write_text("decision_logs:\n  console: true\n")
    out = tmp / f"opa-{port}.log"
    cmd = [opa_binary(), "run", "--server", "--addr", f"127.0.0.1:{port}", "--config-file", str(config)]
    cmd += ["--log-level", "info", "--log-format", "json", "--bundle", str(bundle)]
    with out.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
        try:
            wait_for_http(port, "/health?bundles", proc=proc)
            yield f"http://127.0.0.1:{port}", out
        finally:
            stop(proc, 10)


def opa_console_events(out: Path) -> list[dict]:
    events = []
    for line in out.read_bytes().splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if entry.get("msg") == "Decision Log":
            events.append(entry)
    return events


def file_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


class Receiver:
    """A decision log service: POST /logs with a gzip JSON array. mode: up, down (503) or slow."""

    def __init__(self) -> None:
        self.mode = "up"
        self.slow_seconds = 2.0
        self.batches: list[list[dict]] = []
        self.requests: list[dict] = []  # path and headers of every request
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers)})
                mode = receiver.mode
                if mode == "slow":
                    time.sleep(receiver.slow_seconds)
                if mode == "down":
                    self.send_response(503)
                    self.end_headers()
                    return
                events = orjson.loads(gzip.decompress(body))
                with receiver.lock:
                    receiver.batches.append(events)
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def events(self) -> list[dict]:
        with self.lock:
            return [event for batch in self.batches for event in batch]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    try:
        yield found
    finally:
        found.close()
