"""A real `opa run --server` on a free loopback port: the old sidecar, the tests' oracle."""

import contextlib
import http.client
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

from policy_engine.bundle.locate import default_bundle, opa_binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(port: int, path: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {path}: {_log_tail(proc)}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"nothing answered 200 on 127.0.0.1:{port}{path} in {timeout}s")


def start_logged(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen:
    """Start a server with its output in an unlinked temporary file: kept for the error message
    if it fails to start, and never a pipe that fills up and blocks it."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process it logs)
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def pinned(cmd: list[str], cpus: str | None) -> list[str]:
    """The command under taskset, on `cpus`, when they are given."""
    return ["taskset", "-c", cpus, *cmd] if cpus else cmd


def stop(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM (a graceful stop), then SIGKILL if it has not exited after `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def serving(
    cmd: list[str],
    port: int,
    ready_path: str,
    cpus: str | None = None,
    env: dict[str, str] | None = None,
    stop_timeout: float = 20.0,
) -> Iterator[subprocess.Popen]:
    """A server process, pinned to `cpus`: yielded once `ready_path` answers 200, stopped afterwards."""
    proc = start_logged(pinned(cmd, cpus), env=env)
    try:
        wait_for_http(port, ready_path, proc=proc)
        yield proc
    finally:
        stop(proc, stop_timeout)
        proc.log.close()  # type: ignore[attr-defined]


def _log_tail(proc: subprocess.Popen) -> str:
    log = getattr(proc, "log", None)
    if log is None:
        return ""
    log.seek(0)
    return log.read()[-2000:].decode(errors="replace")


@contextlib.contextmanager
def opa_server(bundle: Path | None = None, cpus: str | None = None) -> Iterator[str]:
    """Yields the base URL of an OPA server loaded with the bundle; stops it afterwards."""
    with opa_process(bundle, cpus) as (url, _):
        yield url


@contextlib.contextmanager
def opa_process(bundle: Path | None = None, cpus: str | None = None) -> Iterator[tuple[str, int]]:
    """(base URL, pid) of an OPA server loaded with the bundle, pinned to `cpus` if given."""
    port = free_port()
    cmd = [opa_binary(), "run", "--server", "--addr", f"127.0.0.1:{port}", "--log-level", "error"]
    cmd += ["--bundle", str(bundle or default_bundle())]
    with serving(cmd, port, "/health?bundles", cpus, stop_timeout=10) as proc:
        yield f"http://127.0.0.1:{port}", proc.pid


class OpaClient:
    """A keep-alive client of OPA's Data API, lean enough to time the server, not the client."""

    def __init__(self, base_url: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self._conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def decide(self, path: str, input_json: bytes) -> dict:
        self._conn.request(
            "POST",
            f"/v1/data/{path}",
            b'{"input":' + input_json + b"}",
            {"Content-Type": "application/json"},
        )
        response = self._conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"OPA answered {response.status}: {body[:200]!r}")
        return orjson.loads(body)

    def close(self) -> None:
        self._conn.close()
