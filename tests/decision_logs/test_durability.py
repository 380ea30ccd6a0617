"""Durability: a kill -9 under load with --decision-log-sync loses no answered decision; a SIGTERM
under load delivers every answered decision's event to every sink before the process exits."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from policy_engine.bench import servers
from policy_engine.bench.opa_server import free_port, stop, wait_for_http
from policy_engine.decision_logs.chain import verify
from tests.support.decision_logs import file_events, receiver

BODY = {"action": "data.read", "context": {"agent": {"trust_level": 0.9}}}
CLIENTS = 8


def load(url: str, answered: list[str], stop: threading.Event) -> None:
    """One client sending decisions until stopped or the server goes away; records what was answered."""
    with httpx.Client(base_url=url, timeout=5) as http:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                answer = http.post("/v1/evaluate", json={**BODY, "agent_id": f"{threading.get_ident()}-{n}"})
            except httpx.HTTPError:
                return
            if answer.status_code == 200:
                answered.append(answer.json()["decision_id"])


def under_load(url: str, seconds: float, then: callable) -> list[str]:  # type: ignore[valid-type]
    answered: list[str] = []
    stop = threading.Event()
    clients = [threading.Thread(target=load, args=(url, answered, stop)) for _ in range(CLIENTS)]
    for client in clients:
        client.start()
    time.sleep(seconds)
    then()
    time.sleep(0.5)
    stop.set()
    for client in clients:
        client.join(30)
    return answered


@pytest.mark.timeout(120)
def test_kill_9_under_load_with_sync_loses_no_answered_decision(tmp_path):
    log = tmp_path / "decisions.jsonl"
    with servers.running_service("--decision-log-file", str(log), "--decision-log-sync") as service:
        answered = under_load(service.url, 2.0, lambda: os.kill(service.pid, signal.SIGKILL))
    logged = {e["decision_id"] for e in file_events(log)}
    assert len(answered) > 50
    missing = set(answered) - logged
    assert not missing, f"{len(missing)} of {len(answered)} answered decisions are not in the file"
    assert verify([str(log)]).whole


@contextlib.contextmanager
def service_with_stdout(args: list[str], stdout: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`policy-engine serve` with its standard output (the console sink) in a file."""
    port = free_port()
    cmd = [sys.executable, "-m", "policy_engine.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PE_")} | {"LOG_LEVEL": "warning"}
    with stdout.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, env=env)
        try:
            wait_for_http(port, "/ready", proc=proc)
            yield f"http://127.0.0.1:{port}", proc
        finally:
            stop(proc, 30)


@pytest.mark.timeout(120)
def test_sigterm_under_load_delivers_every_answered_decision_to_every_sink(tmp_path):
    log, console = tmp_path / "decisions.jsonl", tmp_path / "stdout"
    with receiver() as logs:
        args = ["--decision-log-file", str(log), "--decision-log-url", logs.url, "--decision-log-console"]
        with service_with_stdout(args, console) as (url, proc):
            answered = under_load(url, 2.0, lambda: os.kill(proc.pid, signal.SIGTERM))
            assert proc.wait(60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has stopped
        assert len(answered) > 50
        assert set(answered) <= {e["decision_id"] for e in file_events(log)}
        assert set(answered) <= {e["decision_id"] for e in file_events(console)}
        assert set(answered) <= {e["decision_id"] for e in logs.events}
