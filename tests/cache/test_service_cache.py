"""The cache in the running service: hits, shadow checks, L2 in Redis, faults, warm-up, invalidation."""

import contextlib
import shutil
import time
from collections.abc import Iterator

import httpx
import orjson

from policy_engine.bench.opa_server import free_port
from policy_engine.bundle.locate import default_bundle
from policy_engine.cache.decision_cache import DecisionCache
from policy_engine.cache.l1 import L1Cache
from policy_engine.metrics import Metrics
from policy_engine.workload.files import write_jsonl
from policy_engine.workload.trace import WorkloadParams, generate
from tests.support.service import client, running_service

BODY = {
    "action": "model.train",
    "agent_id": "agent-1",
    "context": {
        "agent": {"trust_level": 0.9},
        "environment": {"sandbox_enabled": True, "audit_enabled": True},
        "responsible_party": "ops",
        "request_id": "r-1",
    },
}


def metric(http, name: str) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split(" ")[1])
    return 0.0


def evaluate(http, body: dict) -> dict:
    response = http.post("/v1/evaluate", content=orjson.dumps(body))
    assert response.status_code == 200
    return response.json()


def eventually(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.05)


def serving_from_its_residual(http, body: dict) -> None:
    """A service meets a new action with the full query and specialises on it in the background;
    once the residual serves it, its keys are the residual's (a different key, as the reads
    differ). Waits for that with a probe of the same action, so that BODY's keys are final."""
    probe = {"action": body["action"], "agent_id": "probe", "context": {"agent": {"trust_level": 0.1}}}
    residual = 'policy_residual_decisions_total{kind="residual"}'
    eventually(lambda: evaluate(http, probe) and metric(http, residual) > 0)


def test_repeats_hit_noise_does_not_matter_and_a_read_field_does():
    with running_service() as url, client(url) as http:
        serving_from_its_residual(http, BODY)
        hits, requests = metric(http, 'cache_hits_total{tier="l1"}'), metric(http, "cache_requests_total")
        first = evaluate(http, BODY)
        again = evaluate(http, {**BODY, "agent_id": "other", "context": {**BODY["context"], "request_id": "r-2"}})
        assert (first["cache_hit"], again["cache_hit"]) == (False, True)
        assert again["allow"] is first["allow"] is True
        unaudited = {**BODY, "context": {**BODY["context"], "environment": {"sandbox_enabled": True}}}
        changed = evaluate(http, unaudited)
        assert changed["cache_hit"] is False
        assert changed["violations"] == ["audit_not_enabled"]
        assert metric(http, 'cache_hits_total{tier="l1"}') - hits == 1
        assert metric(http, "cache_requests_total") - requests == 3


def test_shadow_mode_finds_no_mismatch_on_the_workload():
    with running_service("--shadow-rate", "1") as url, client(url) as http:
        for body in generate(WorkloadParams(requests=1500, seed=13)):
            evaluate(http, body)
        assert metric(http, "cache_shadow_checks_total") > 500
        assert metric(http, "cache_shadow_mismatches_total") == 0


def test_shadow_mode_counts_a_wrong_entry_and_serves_and_keeps_the_fresh_result():
    metrics = Metrics()
    cache = DecisionCache(L1Cache(10, 10_000, 60), None, False, metrics, shadow_rate=1)
    assert cache.shadow_result(b"k1", b'{"allow":true}', b'{"allow":true}') == b'{"allow":true}'
    assert cache.shadow_result(b"k2", b'{"allow":true}', b'{"allow":false}') == b'{"allow":false}'
    assert metrics.shadow_checks.total() == 2
    assert metrics.shadow_mismatches.total() == 1
    assert cache.l1.get(b"k2") == b'{"allow":false}'


def test_an_entrypoint_with_a_nondeterministic_builtin_is_not_cached(tmp_path):
    (tmp_path / "p.rego").write_text("package p\n\nnow := time.now_ns() if input.x\n")
    with running_service("--bundle", str(tmp_path)) as url, client(url) as http:
        for _ in range(3):
            assert "result" in http.post("/v1/data/p/now", content=b'{"input": {"x": true}}').json()
        assert metric(http, 'cache_uncacheable_total{reason="nondeterministic"}') == 3
        assert metric(http, "cache_requests_total") == 0


def settled_keys(redis_client) -> set[bytes]:
    """The service keys in Redis once pending writes have landed (requests do not await them)."""
    previous = None
    while (keys := set(redis_client.keys("pe:v2:*"))) != previous:
        previous = keys
        time.sleep(0.2)
    return keys


@contextlib.contextmanager
def writer_and_reader(env: dict[str, str]) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Two instances on one Redis: one that writes L2, one that also reads it on an L1 miss."""
    with (
        running_service(env=env) as writer_url,
        running_service("--l2-read", env=env) as reader_url,
        client(writer_url) as writer,
        client(reader_url) as reader,
    ):
        yield writer, reader


def test_l2_is_shared_between_instances(redis_server):
    with writer_and_reader({"REDIS_URL": redis_server.url}) as (writer, reader):
        assert writer.get("/health").json()["dependencies"]["redis"] == "connected"
        serving_from_its_residual(writer, BODY)
        serving_from_its_residual(reader, BODY)
        probes = settled_keys(redis_server.client())
        l1, l2 = 'cache_hits_total{tier="l1"}', 'cache_hits_total{tier="l2"}'
        hits = {tier: metric(reader, tier) for tier in (l1, l2)}
        assert evaluate(writer, BODY)["cache_hit"] is False
        eventually(lambda: set(redis_server.client().keys("pe:v2:*")) - probes)
        (written,) = settled_keys(redis_server.client()) - probes
        shared = evaluate(reader, BODY)
        assert shared["cache_hit"] is True
        assert metric(reader, l2) - hits[l2] == 1
        # Promoted to L1: the next ask is answered in process, and nothing new is written.
        assert evaluate(reader, BODY)["cache_hit"] is True
        assert metric(reader, l1) - hits[l1] == 1
        assert settled_keys(redis_server.client()) == probes | {written}
        assert redis_server.client().ttl(written) > 0
        assert int(redis_server.client().hget("cache:stats", "total_cached")) >= 1


def test_redis_down_at_start_serves_degraded():
    env = {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    with running_service("--l2-read", env=env) as url, client(url) as http:
        health = http.get("/health").json()
        assert health["status"] == "degraded"
        assert health["dependencies"]["redis"] == "unreachable"
        assert evaluate(http, BODY)["allow"] is True


def test_redis_killed_under_load_fails_no_request_and_comes_back(redis_server):
    env = {"REDIS_URL": redis_server.url}
    bodies = list(generate(WorkloadParams(requests=600, seed=17)))
    with running_service("--l2-read", env=env) as url, client(url) as http:
        slowest = 0.0
        for n, body in enumerate(bodies):
            if n == 200:
                redis_server.stop()
            started = time.monotonic()
            assert http.post("/v1/evaluate", content=orjson.dumps(body)).status_code == 200
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < 1.0
        assert http.get("/health").json()["dependencies"]["redis"] == "unreachable"
        assert metric(http, "cache_l2_errors_total") >= 1
        redis_server.start()
        eventually(lambda: http.get("/health").json()["dependencies"]["redis"] == "connected")


def test_warm_up_fills_the_cache_before_ready(tmp_path):
    corpus = tmp_path / "recent.jsonl"
    bodies = list(generate(WorkloadParams(requests=50, seed=19)))
    write_jsonl(bodies, corpus)
    with running_service("--warmup-file", str(corpus)) as url, client(url) as http:
        assert metric(http, "cache_l1_entries") > 10
        assert evaluate(http, bodies[10])["cache_hit"] is True


def assert_a_new_revision_reaches_a_peer(tmp_path, env: dict[str, str]) -> None:
    """Two instances on one bundle directory, sharing Redis: one looks at it every 0.2 s, the
    other every 600 s. A revision the first loads is announced, and the other loads it at once."""
    bundle = tmp_path / "bundle"
    shutil.copytree(default_bundle(), bundle)
    safe = {"action": "data.read", "context": {"agent": {"trust_level": 0.35}}}
    with (
        running_service("--bundle", str(bundle), "--bundle-poll-seconds", "0.2", env=env) as loader_url,
        running_service("--bundle", str(bundle), "--bundle-poll-seconds", "600", env=env) as other_url,
        client(loader_url) as loader,
        client(other_url) as other,
    ):
        before = loader.get("/health").json()["policy_revision"]
        assert evaluate(other, safe)["allow"] is True
        assert evaluate(other, safe)["cache_hit"] is True
        data = orjson.loads((bundle / "data.json").read_bytes())
        data["acgs"]["config"]["min_trust_safe"] = 0.4
        (bundle / "data.json").write_bytes(orjson.dumps(data))
        eventually(lambda: loader.get("/health").json()["policy_revision"] != before)
        assert evaluate(loader, safe)["allow"] is False
        eventually(lambda: other.get("/health").json()["policy_revision"] != before)
        assert evaluate(other, safe)["allow"] is False


def test_a_new_revision_reaches_every_instance(redis_server, tmp_path):
    assert_a_new_revision_reaches_a_peer(tmp_path, {"REDIS_URL": redis_server.url})


def test_a_bundle_that_does_not_compile_is_rejected_and_the_old_one_serves(tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(default_bundle(), bundle)
    with running_service("--bundle", str(bundle), "--bundle-poll-seconds", "0.2") as url, client(url) as http:
        before = http.get("/health").json()["policy_revision"]
        (bundle / "broken.rego").write_text("package acgs.broken\n\nx := y\n")
        time.sleep(1.0)
        assert http.get("/health").json()["policy_revision"] == before
        assert evaluate(http, BODY)["allow"] is True
