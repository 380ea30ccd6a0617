"""OPA's decision log service protocol, with the service down, slow and back: no request fails
or waits, drops are counted, and what was buffered arrives once the service is back."""

import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from policy_engine.bench import servers
from tests.support.decision_logs import receiver, wait_until

BODY = {"action": "data.read", "context": {"agent": {"trust_level": 0.9}}}


def metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def decide(http: httpx.Client, n: int) -> tuple[str, float]:
    started = time.monotonic()
    answer = http.post("/v1/evaluate", json={**BODY, "agent_id": f"a{n}"})
    assert answer.status_code == 200
    return answer.json()["decision_id"], time.monotonic() - started


def log_service_args(url: str, *extra: str) -> tuple[str, ...]:
    return (
        "--decision-log-url",
        url,
        "--decision-log-token",
        "s3cret",
        "--decision-log-retry-max-seconds",
        "0.5",
        *extra,
    )


@pytest.mark.timeout(120)
def test_uploads_are_gzip_json_arrays_posted_to_logs_with_the_bearer_token():
    with receiver() as logs, servers.running_service(*log_service_args(logs.url)) as service:
        with httpx.Client(base_url=service.url, timeout=10) as http:
            ids = {decide(http, n)[0] for n in range(20)}
        assert wait_until(lambda: {e["decision_id"] for e in logs.events} == ids)
        request = logs.requests[0]
        assert request["path"] == "/logs"
        assert request["headers"]["Content-Encoding"] == "gzip"
        assert request["headers"]["Content-Type"] == "application/json"
        assert request["headers"]["Authorization"] == "Bearer s3cret"


@pytest.mark.timeout(120)
def test_the_service_down_then_slow_then_up_fails_and_delays_no_request_and_loses_nothing_buffered():
    with receiver() as logs, servers.running_service(*log_service_args(logs.url)) as service:
        logs.mode = "down"
        with httpx.Client(base_url=service.url, timeout=10) as http:
            answered = [decide(http, n) for n in range(50)]
            assert wait_until(lambda: metric(service.url, "decision_logs_upload_errors_total") >= 2)
            logs.mode, logs.slow_seconds = "slow", 3.0
            time.sleep(0.5)  # an upload is now held by the slow service
            answered += [decide(http, n) for n in range(50, 100)]
            logs.mode = "up"
        assert max(seconds for _, seconds in answered) < 1.0  # nobody waited for the log service
        ids = {identifier for identifier, _ in answered}
        assert wait_until(lambda: ids <= {e["decision_id"] for e in logs.events}, timeout=30)
        assert metric(service.url, "decision_logs_dropped_total") == 0


@pytest.mark.timeout(120)
def test_past_the_buffer_the_oldest_events_are_dropped_and_counted():
    with receiver() as logs:
        args = log_service_args(logs.url, "--decision-log-buffer-events", "20")
        logs.mode = "down"
        with servers.running_service(*args) as service, httpx.Client(base_url=service.url, timeout=10) as http:
            with ThreadPoolExecutor(8) as pool:
                answered = list(pool.map(lambda n: decide(http, n), range(120)))
            assert all(seconds < 1.0 for _, seconds in answered)
            assert wait_until(lambda: metric(service.url, "decision_logs_dropped_total") >= 100)
            logs.mode = "up"
            assert wait_until(lambda: len(logs.events) >= 20)
            time.sleep(0.5)
            dropped = metric(service.url, "decision_logs_dropped_total")
            assert len(logs.events) + dropped == 120
            newest = {identifier for identifier, _ in answered[-10:]}
            assert newest <= {e["decision_id"] for e in logs.events}  # the oldest went first
            text = httpx.get(f"{service.url}/metrics").text
            assert 'decision_logs_dropped_total{reason="upload_buffer_full"}' in text


@pytest.mark.timeout(120)
def test_sigterm_uploads_what_is_buffered_before_exit():
    with receiver() as logs:
        logs.mode = "down"
        with servers.running_service(*log_service_args(logs.url)) as service:
            with httpx.Client(base_url=service.url, timeout=10) as http:
                ids = {decide(http, n)[0] for n in range(30)}
            os.kill(service.pid, signal.SIGTERM)
            time.sleep(0.3)
            logs.mode = "up"
            assert wait_until(lambda: ids <= {e["decision_id"] for e in logs.events}, timeout=30)


@pytest.mark.timeout(120)
def test_each_upload_stays_within_the_upload_limit():
    with receiver() as logs:
        args = log_service_args(logs.url, "--decision-log-upload-limit-bytes", "1500")
        with servers.running_service(*args) as service, httpx.Client(base_url=service.url, timeout=10) as http:
            ids = {decide(http, n)[0] for n in range(100)}
            assert wait_until(lambda: {e["decision_id"] for e in logs.events} == ids)
        sizes = [int(r["headers"]["Content-Length"]) for r in logs.requests]
        assert len(sizes) > 1 and max(sizes) <= 1500


def test_bad_decision_log_options_are_refused_before_serving(capsys):
    from policy_engine.cli import main

    for args in (["--decision-log-sync"], ["--decision-log-mask", "/labels/id"], ["--shadow-opa-rate", "2"]):
        assert main(["serve", *args]) == 2
        assert capsys.readouterr().err.startswith("policy-engine serve: error: --")
