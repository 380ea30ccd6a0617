"""Durability: a kill -9 under load with --decision-log-sync loses no answered decision; a SIGTERM
under load delivers every answered decision's event to every sink before the process exits."""

import os
import signal
import threading
import time

import httpx
import pytest

from policy_engine.bench import servers
from policy_engine.decision_logs.chain import verify
from tests.support.decision_logs import file_events, receiver, wait_until

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


@pytest.mark.timeout(120)
def test_sigterm_under_load_delivers_every_answered_decision_to_every_sink(tmp_path):
    log = tmp_path / "decisions.jsonl"
    with receiver() as logs:
        args = ("--decision-log-file", str(log), "--decision-log-url", logs.url)
        with servers.running_service(*args) as service:
            answered = under_load(service.url, 2.0, lambda: os.kill(service.pid, signal.SIGTERM))
        assert len(answered) > 50
        in_file = {e["decision_id"] for e in file_events(log)}
        assert set(answered) <= in_file
        assert wait_until(lambda: set(answered) <= {e["decision_id"] for e in logs.events})
