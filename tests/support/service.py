"""Start `policy-engine serve` as a real process and talk HTTP to it."""

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx

from policy_engine.bench.opa_server import free_port, wait_for_http


@contextlib.contextmanager
def running_service(*args: str, env: dict[str, str] | None = None, ready_path: str = "/ready") -> Iterator[str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "policy_engine.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *args,
    ]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PE_")}
    full_env.update({"LOG_LEVEL": "warning", **(env or {})})
    proc = subprocess.Popen(cmd, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_http(port, ready_path, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=10)
