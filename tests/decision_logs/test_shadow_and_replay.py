"""A/B: live decisions shadowed to an OPA server, and logged decisions replayed elsewhere.

The other side is a real `opa run --server`: on the same policy nothing differs; on a policy that
makes data.read dangerous, exactly the data.read decisions differ, and are counted and shown."""

import io
import re
import shutil
from pathlib import Path

import httpx
import orjson
import pytest

from policy_engine.bench import servers
from policy_engine.bench.opa_server import opa_server
from policy_engine.bundle.locate import default_bundle
from policy_engine.decision_logs import replay
from policy_engine.decision_logs.event import DecisionEvent
from policy_engine.decision_logs.shadow import ShadowOpa
from policy_engine.metrics import Metrics
from tests.support.decision_logs import file_events, wait_until

REQUESTS = [
    {"action": "data.read", "context": {"agent": {"trust_level": 0.9}}},
    {"action": "data.read", "context": {"agent": {"trust_level": 0.1}}},
    {"action": "compute.analyze", "context": {"agent": {"trust_level": 0.9}}},
    {"action": "system.execute_shell"},
    {"action": "data.read", "context": {"agent": {"trust_level": 0.9}}},  # a cache hit
]
READS = sum(r["action"] == "data.read" for r in REQUESTS)


def data_read_dangerous(tmp: Path) -> Path:
    """The project's bundle with data.read moved from the safe actions to the dangerous ones."""
    bundle = tmp / "candidate"
    shutil.copytree(default_bundle(), bundle)
    data = orjson.loads((bundle / "data.json").read_bytes())
    config = data["acgs"]["config"]
    config["safe_actions"].remove("data.read")
    config["dangerous_actions"].append("data.read")
    (bundle / "data.json").write_bytes(orjson.dumps(data))
    return bundle


def metric(url: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", httpx.get(f"{url}/metrics").text, re.M)
    return float(found.group(1)) if found else 0.0


def shadowed_events(opa_url: str, log: Path) -> tuple[list[dict], float, float]:
    args = ("--decision-log-file", str(log), "--shadow-opa-url", opa_url, "--shadow-opa-rate", "1")
    with servers.running_service(*args) as service, httpx.Client(base_url=service.url, timeout=10) as http:
        for body in REQUESTS:
            assert http.post("/v1/evaluate", json=body).status_code == 200
        assert wait_until(lambda: len(file_events(log)) == len(REQUESTS))
        checks = metric(service.url, "shadow_opa_checks_total")
        mismatches = metric(service.url, "shadow_opa_mismatches_total")
    return file_events(log), checks, mismatches


@pytest.mark.timeout(120)
def test_a_shadow_opa_on_another_policy_counts_and_logs_the_mismatches(tmp_path):
    with opa_server(data_read_dangerous(tmp_path)) as opa_url:
        events, checks, mismatches = shadowed_events(opa_url, tmp_path / "log.jsonl")
    assert checks == len(REQUESTS)
    assert mismatches == READS
    for event in events:
        shadow = event["shadow"]
        assert shadow["url"] == opa_url
        if event["input"]["action"] == "data.read":
            assert shadow["match"] is False
            assert shadow["result"]["rule"] == "dangerous" and event["result"]["rule"] == "safe"
        else:
            assert shadow["match"] is True and shadow["result"] == event["result"]


@pytest.mark.timeout(120)
def test_a_shadow_opa_on_the_same_policy_finds_no_mismatch(tmp_path):
    with opa_server() as opa_url:
        events, checks, mismatches = shadowed_events(opa_url, tmp_path / "log.jsonl")
    assert checks == len(REQUESTS) and mismatches == 0
    assert all(e["shadow"]["match"] for e in events)


@pytest.fixture(scope="module")
def logged(tmp_path_factory) -> Path:
    """A decision log of REQUESTS, written by the service on the project's bundle."""
    log = tmp_path_factory.mktemp("replay") / "log.jsonl"
    with servers.running_service("--decision-log-file", str(log)) as service:
        for body in REQUESTS:
            httpx.post(f"{service.url}/v1/evaluate", json=body)
        httpx.post(f"{service.url}/v1/data/acgs/constitutional/evaluate", json={"input": REQUESTS[0]})
        assert wait_until(lambda: len(file_events(log)) == len(REQUESTS) + 1)
    return log


def test_replay_against_a_candidate_bundle_summarises_the_differences_by_rule_and_violation(logged, tmp_path):
    out = io.StringIO()
    assert replay.main([str(logged)], str(data_read_dangerous(tmp_path)), out) == 1
    text = out.getvalue()
    assert f"different: {READS + 1}" in text and f"same: {len(REQUESTS) - READS}" in text
    assert f"safe -> dangerous: {READS + 1}" in text
    assert re.search(r"violations added:\n  dangerous_action: \d+", text)
    assert "examples:" in text and '"replayed":{"allow":false' in text


def test_replay_against_the_same_policy_in_an_opa_server_finds_no_difference(logged):
    out = io.StringIO()
    with opa_server() as opa_url:
        assert replay.main([str(logged)], opa_url, out) == 0
    assert f"same: {len(REQUESTS) + 1}  different: 0" in out.getvalue()


@pytest.mark.timeout(120)
def test_in_durable_mode_the_shadow_still_counts_mismatches(tmp_path):
    log = tmp_path / "log.jsonl"
    with opa_server(data_read_dangerous(tmp_path)) as opa_url:
        args = ("--decision-log-file", str(log), "--decision-log-sync", "--shadow-opa-url", opa_url)
        with servers.running_service(*args) as service, httpx.Client(base_url=service.url, timeout=10) as http:
            for body in REQUESTS:
                assert http.post("/v1/evaluate", json=body).status_code == 200
            assert wait_until(lambda: metric(service.url, "shadow_opa_checks_total") == len(REQUESTS))
            assert metric(service.url, "shadow_opa_mismatches_total") == READS


def test_an_ad_hoc_querys_event_is_not_asked_of_the_shadow():
    metrics = Metrics()
    shadow = ShadowOpa("http://127.0.0.1:9", 1.0, metrics)  # nothing listens: asking would record an error
    event = DecisionEvent("id", "", None, b"[]", 0, 1, query="x = data.acgs.config.max_harm_risk")
    shadow.compare(event)
    assert event.shadow is None
    path_event = DecisionEvent("id2", "acgs/x", None, b"1", 0, 1)
    shadow.compare(path_event)
    assert path_event.shadow is not None and "error" in path_event.shadow  # the same shadow asks a path's
    assert metrics.shadow_opa_checks.total() == 1
