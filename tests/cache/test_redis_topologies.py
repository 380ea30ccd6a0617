"""L2 and revision announcements on Redis as production runs it: a cluster, TLS, ACL users, Sentinel.

Each test starts real redis-server processes and real services; what is shared, announced and
survived is read from the services' answers and metrics and from Redis itself.
"""

import asyncio
import subprocess
import time
from pathlib import Path

import orjson
import pytest
import redis

from policy_engine.bench.opa_server import free_port
from policy_engine.cache.l2 import REVISIONS_CHANNEL, RedisTier
from policy_engine.workload.trace import WorkloadParams, generate
from tests.cache.test_service_cache import (
    assert_a_new_revision_reaches_a_peer,
    evaluate,
    eventually,
    metric,
    writer_and_reader,
)
from tests.support.redis_topologies import local_cluster, make_certificates, redis_process, stop_all, wait_until
from tests.support.service import client, running_service

# Twenty requests with twenty different cache keys (the data.read residual reads the trust level).
DISTINCT = [{"action": "data.read", "context": {"agent": {"trust_level": 0.5 + n / 100}}} for n in range(20)]
# A least-privilege ACL user: the L2 keys (pe:*), the stats hash (cache:*), the announcement channel (pe:*).
ACL_USER = ["pe", "on", ">s3cret", "~pe:*", "~cache:*", "&pe:*", "+@read", "+@write", "+@pubsub", "+@connection"]


# Lookups that wait for Redis up to 0.5 s (not 50 ms): a busy test machine must not turn a hit into a miss.
PATIENT = {"PE_REDIS_TIMEOUT": "0.5"}


def batch(http, bodies: list[dict]) -> list[dict]:
    """One request whose items look up L2 together (one MGET, across slots in a cluster)."""
    response = http.post("/v1/batch/evaluate", content=orjson.dumps({"requests": bodies}))
    assert response.status_code == 200
    return response.json()["responses"]


def assert_shared(url: str, keys_in_redis) -> None:
    """A decision one instance makes is a hit, from L2, on another."""
    with writer_and_reader({"REDIS_URL": url, **PATIENT}) as (writer, reader):
        assert writer.get("/health").json()["dependencies"]["redis"] == "connected"
        assert reader.get("/health").json()["dependencies"]["redis"] == "connected"
        assert not any(answer["cache_hit"] for answer in batch(writer, DISTINCT))
        eventually(lambda: keys_in_redis() == len(DISTINCT))  # writes are not awaited by requests
        assert all(answer["cache_hit"] for answer in batch(reader, DISTINCT))
        assert metric(reader, 'cache_hits_total{tier="l2"}') == len(DISTINCT)


def test_l2_is_shared_across_a_cluster_whose_keys_span_its_nodes(tmp_path):
    with local_cluster(tmp_path) as cluster:
        assert_shared(cluster.url, lambda: sum(cluster.keys_per_node("pe:v2:*").values()))
        assert sum(1 for n in cluster.keys_per_node("pe:v2:*").values() if n) >= 2
        assert int(cluster.client().hget("cache:stats", "total_cached")) >= len(DISTINCT)


def test_a_new_revision_is_announced_through_the_cluster(tmp_path):
    with local_cluster(tmp_path) as cluster:
        assert_a_new_revision_reaches_a_peer(tmp_path, {"REDIS_URL": cluster.url, **PATIENT})


def test_a_cluster_node_killed_under_load_fails_no_request(tmp_path):
    bodies = list(generate(WorkloadParams(requests=600, seed=23)))
    with local_cluster(tmp_path) as cluster:
        env = {"REDIS_URL": cluster.url}
        with running_service("--l2-read", env=env) as url, client(url) as http:
            assert http.get("/health").json()["dependencies"]["redis"] == "connected"
            failed, slowest = 0, 0.0
            for n, body in enumerate(bodies):
                if n == 200:
                    cluster.kill(cluster.ports[1])
                started = time.monotonic()
                failed += http.post("/v1/evaluate", content=orjson.dumps(body)).status_code != 200
                slowest = max(slowest, time.monotonic() - started)
            assert failed == 0
            assert slowest < 1.0  # a generous bound: a dead node costs at most the Redis timeout
            assert metric(http, "cache_l2_errors_total") >= 1
            assert http.get("/health").status_code == 200


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def test_tls_with_an_acl_user(certificates):
    port = free_port()
    tls = ["--port", "0", "--tls-port", str(port), "--tls-auth-clients", "no"]
    tls += ["--tls-cert-file", str(certificates["server"]), "--tls-key-file", str(certificates["server-key"])]
    tls += ["--tls-ca-cert-file", str(certificates["ca"])]
    admin = redis.Redis(
        "127.0.0.1", port, ssl=True, ssl_ca_certs=str(certificates["ca"]), username="pe", password="s3cret"
    )
    with redis_process(*tls, "--user", *ACL_USER, ready=admin.ping):
        url = f"rediss://pe:s3cret@127.0.0.1:{port}/0?ssl_ca_certs={certificates['ca']}"
        assert_shared(url, lambda: len(admin.keys("pe:v2:*")))
        # The server's certificate is checked: without its CA the service does not trust it (and serves from L1).
        untrusted = {"REDIS_URL": f"rediss://pe:s3cret@127.0.0.1:{port}/0"}
        with running_service(env=untrusted) as url, client(url) as http:
            assert http.get("/health").json()["dependencies"]["redis"] == "unreachable"
            assert evaluate(http, DISTINCT[0])["allow"] is True


def test_an_acl_user_limited_to_the_service_keys_and_channel_is_enough():
    port = free_port()
    user = redis.Redis(port=port, username="pe", password="s3cret", socket_timeout=1)
    with redis_process("--port", str(port), "--user", "default", "off", "--user", *ACL_USER, ready=user.ping):
        assert_shared(f"redis://pe:s3cret@127.0.0.1:{port}/0", lambda: len(user.keys("pe:v2:*")))
        with running_service(env={"REDIS_URL": f"redis://pe:wrong@127.0.0.1:{port}/0"}) as url, client(url) as http:
            assert http.get("/health").json()["dependencies"]["redis"] == "unreachable"
            assert evaluate(http, DISTINCT[0])["allow"] is True


def test_sentinel_finds_the_master(tmp_path):
    master_port, sentinel_port = free_port(), free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {sentinel_port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 {master_port} 1\n")
    master = redis.Redis(port=master_port, socket_timeout=1)
    with redis_process("--port", str(master_port), ready=master.ping):
        sentinel = subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL)
        try:
            probe = redis.Redis(port=sentinel_port, socket_timeout=1)
            wait_until(lambda: probe.sentinel_get_master_addr_by_name("mymaster"), what="sentinel")
            url = f"redis+sentinel://127.0.0.1:{sentinel_port}/mymaster/0"
            assert_shared(url, lambda: len(master.keys("pe:v2:*")))
        finally:
            stop_all([sentinel])


def test_announcements_are_heard_again_after_the_listening_node_dies(tmp_path):
    async def scenario(cluster) -> list[str]:
        heard: list[str] = []
        publisher, listener = RedisTier(cluster.url, 300, 1.0), RedisTier(cluster.url, 300, 1.0)
        await publisher.start()
        await listener.start()
        listener.subscribe_revisions(heard.append)
        await asyncio.sleep(0.5)
        (listening,) = [p for p in cluster.ports if cluster.node(p).pubsub_numsub(REVISIONS_CHANNEL)[0][1] == 1]
        cluster.kill(listening)
        deadline = time.monotonic() + 15
        while "after" not in heard and time.monotonic() < deadline:
            await publisher.publish_revision("after")  # pub/sub keeps nothing: say it until it is heard
            await asyncio.sleep(0.5)
        await publisher.close()
        await listener.close()
        return heard

    with local_cluster(tmp_path) as cluster:
        assert "after" in asyncio.run(scenario(cluster))
