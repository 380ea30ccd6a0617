"""A running service follows its bundle's source: new revisions, refused ones, a source that is down."""

import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest

from policy_engine.bench import servers
from policy_engine.bench.stats import rss_mb
from tests.bundle.conftest import copy_bundle, opa_build
from tests.bundle.test_loading import tampered
from tests.support.bundle_server import BundleServer, bundle_server
from tests.support.service import client

SAFE = {"action": "data.read", "context": {"agent": {"trust_level": 0.35}}}
FAST_POLLING = ("--bundle-min-delay", "0.2", "--bundle-max-delay", "0.4")


def tarball(tmp_path: Path, name: str, min_trust_safe: float, *signing: str) -> bytes:
    source = copy_bundle(tmp_path / name, min_trust_safe)
    return opa_build(source, tmp_path / f"{name}.tar.gz", *signing).read_bytes()


def allowed(http: httpx.Client, body: dict = SAFE) -> bool:
    response = http.post("/v1/evaluate", content=orjson.dumps(body))
    assert response.status_code == 200, response.text
    return response.json()["allow"]


def bundle_health(http: httpx.Client) -> dict:
    return http.get("/health").json()["bundle"]


def metric(http: httpx.Client, name: str) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split(" ")[1])
    return 0.0


def eventually(condition, seconds: float = 10.0) -> float:
    """Seconds until the condition held."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "the condition did not come true in time"
        time.sleep(0.02)
    return time.monotonic() - started


def test_serves_from_a_bundle_server_and_follows_it(tmp_path):
    with bundle_server(token="t0ken") as server:
        server.publish(tarball(tmp_path, "a", 0.3))
        args = ("--bundle", server.url, "--bundle-token", "t0ken", *FAST_POLLING)
        with servers.running_service(*args) as service, client(service.url) as http:
            first = bundle_health(http)
            assert first["revision"] == "constitutional-1.0.0" and first["activated"]
            assert allowed(http)
            server.publish(tarball(tmp_path, "b", 0.4))
            # Within the maximum delay, plus time to fetch and activate on a loaded machine.
            eventually(lambda: bundle_health(http)["content_hash"] != first["content_hash"], 0.4 + 4)
            assert not allowed(http)
            assert metric(http, 'bundle_loads_total{result="ok"}') == 2
            assert http.get("/health?bundles").status_code == 200


def test_the_last_good_bundle_serves_while_the_server_is_down(tmp_path):
    server = BundleServer()
    server.start()
    server.publish(tarball(tmp_path, "a", 0.3))
    port = server.port
    with servers.running_service("--bundle", server.url, *FAST_POLLING) as service, client(service.url) as http:
        server.stop()
        eventually(lambda: metric(http, 'bundle_loads_total{result="fetch_error"}') >= 1)
        assert allowed(http)
        assert "bundle server" in bundle_health(http)["last_error"]
        server.start(port)  # back, with a new bundle
        server.publish(tarball(tmp_path, "b", 0.4))
        eventually(lambda: not allowed(http), 10)  # after backoff, still within the maximum delay
        assert bundle_health(http)["last_error"] is None
        server.stop()


def test_a_start_with_the_bundle_server_down_says_why_in_one_line():
    done = subprocess.run(
        [sys.executable, "-m", "policy_engine.cli", "serve", "--port", "0", "--bundle", "http://127.0.0.1:9/b.tar.gz"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "no bundle could be loaded from http://127.0.0.1:9/b.tar.gz" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_tampered_bundle_is_refused_and_the_signed_one_keeps_serving(tmp_path, rsa_keys):
    private, public = rsa_keys
    with bundle_server() as server:
        signed = tarball(tmp_path, "a", 0.3, "--signing-key", str(private))
        server.publish(signed)
        args = ("--bundle", server.url, "--verification-key", str(public), *FAST_POLLING)
        with servers.running_service(*args) as service, client(service.url) as http:
            before = bundle_health(http)["content_hash"]
            bad = tampered(
                opa_build(copy_bundle(tmp_path / "b", 0.4), tmp_path / "b.tar.gz", "--signing-key", str(private)),
                tmp_path / "t.tar.gz",
            )
            server.publish(bad.read_bytes())
            eventually(lambda: metric(http, 'bundle_loads_total{result="rejected"}') >= 1)
            assert "digest mismatch" in bundle_health(http)["last_error"]
            assert bundle_health(http)["content_hash"] == before
            assert allowed(http)


def test_distinct_paths_from_clients_never_break_decisions_or_grow_memory_without_bound(opa):
    with servers.running_service() as service, client(service.url) as http:
        assert allowed(http)
        baseline = rss_mb(service.pid)
        for i in range(10_000):
            assert http.post(f"/v1/data/x{i}", content=b'{"input": {}}').status_code == 200
        grown = rss_mb(service.pid) - baseline
        body = {"action": "data.read", "context": {"agent": {"trust_level": 0.35}}}
        assert allowed(http, body)
        for trust in (0.1, 0.29, 0.31, 0.9):
            request = {"action": "model.train", "context": {"agent": {"trust_level": trust}}}
            ours = http.post("/v1/data/acgs/constitutional/evaluate", content=orjson.dumps({"input": request}))
            theirs = opa.decide("acgs/constitutional/evaluate", orjson.dumps(request))
            assert ours.json()["result"] == theirs["result"]
        assert grown < 100, f"RSS grew {grown:.0f} MB over 10,000 distinct paths"


def write_revision(bundle: Path, index: int) -> None:
    """Revision `index`: the safe-action threshold 0.300 + index/1000, named in the manifest."""
    data = orjson.loads((bundle / "data.json").read_bytes())
    data["acgs"]["config"]["min_trust_safe"] = round(0.3 + index / 1000, 4)
    (bundle / "data.json").write_bytes(orjson.dumps(data))
    manifest = orjson.loads((bundle / ".manifest").read_bytes())
    manifest["revision"] = f"rev-{index}"
    (bundle / ".manifest").write_bytes(orjson.dumps(manifest))


@pytest.mark.timeout(600)
def test_reloads_under_load_fail_nothing_and_never_answer_from_an_older_revision(tmp_path):
    """Revision i allows a trust level of (threshold of i) - 0.0005 only under revisions older than i:
    an allow for a request sent after /health reported i would be an answer from the past."""
    reloads = 100
    bundle = copy_bundle(tmp_path / "bundle")
    write_revision(bundle, 0)
    known = [0]  # the revision /health reported last
    failures, stale, answered = [], [], [0]
    stop = threading.Event()

    def load(url: str) -> None:
        with client(url) as http:
            while not stop.is_set():
                index = known[0]
                body = {
                    "action": "data.read",
                    "context": {"agent": {"trust_level": round(0.3 + index / 1000 - 0.0005, 4)}},
                }
                try:
                    if allowed(http, body):
                        stale.append(index)
                    answered[0] += 1
                except (AssertionError, httpx.HTTPError) as exc:
                    failures.append(repr(exc))

    with (
        servers.running_service("--bundle", str(bundle), "--bundle-poll-seconds", "0.05") as service,
        client(service.url) as http,
    ):
        thread = threading.Thread(target=load, args=(service.url,))
        thread.start()
        rss = []
        try:
            for index in range(1, reloads + 1):
                write_revision(bundle, index)
                eventually(lambda i=index: bundle_health(http)["revision"] == f"rev-{i}", 10)
                known[0] = index
                if index in (10, reloads):
                    rss.append(rss_mb(service.pid))
        finally:
            stop.set()
            thread.join()
    print(f"{reloads} reloads, {answered[0]} requests answered, RSS {rss[0]:.0f} -> {rss[1]:.0f} MB")
    assert not failures[:3], f"{len(failures)} failed requests"
    assert not stale[:3], f"{len(stale)} answers from a revision older than the one reported"
    assert answered[0] > reloads
    assert rss[1] < rss[0] * 1.10, f"RSS {rss[0]:.0f} MB after 10 reloads, {rss[1]:.0f} MB after {reloads}"


def test_a_fleet_sharing_redis_converges_on_a_new_revision_at_the_first_poll_of_any(tmp_path, redis_server):
    """One instance polls the bundle server every second, two only every 10 minutes: the first to
    see a new bundle announces it on Redis, and the others fetch it at once."""
    with bundle_server() as server:
        server.publish(tarball(tmp_path, "a", 0.3))
        polling = {delay: ("--bundle-min-delay", str(delay), "--bundle-max-delay", str(delay)) for delay in (1, 600)}
        env = {"REDIS_URL": redis_server.url}
        with (
            servers.running_service("--bundle", server.url, *polling[1], env=env) as one,
            servers.running_service("--bundle", server.url, *polling[600], env=env) as two,
            servers.running_service("--bundle", server.url, *polling[600], env=env) as three,
        ):
            fleet = [client(s.url) for s in (one, two, three)]
            failures, stop = [], threading.Event()

            def load() -> None:
                while not stop.is_set():
                    for http in fleet:
                        try:
                            allowed(http)
                        except (AssertionError, httpx.HTTPError) as exc:
                            failures.append(repr(exc))

            thread = threading.Thread(target=load)
            thread.start()
            try:
                before = bundle_health(fleet[0])["content_hash"]
                server.publish(tarball(tmp_path, "b", 0.4))
                took = eventually(lambda: all(bundle_health(h)["content_hash"] != before for h in fleet), 30)
            finally:
                stop.set()
                thread.join()
            assert not failures[:3], f"{len(failures)} failed requests"
            print(f"the fleet converged in {took:.2f} s (poll intervals 1 s and 600 s)")
            assert not any(allowed(h) for h in fleet)
