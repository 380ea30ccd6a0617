"""Redis URLs: one server, TLS, ACL users, Sentinel and Cluster, each to the client that serves it."""

import subprocess
import sys

import pytest
import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import SentinelConnectionPool

from policy_engine.cache.redis_client import RedisUrlError, redis_client


def connection_kwargs(client: redis.Redis) -> dict:
    return client.connection_pool.connection_kwargs


def test_a_plain_url_is_one_server_with_the_timeouts_given():
    client = redis_client("redis://cache:6379/2", 0.05)
    kwargs = connection_kwargs(client)
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("cache", 6379, 2)
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.05


def test_rediss_is_tls_with_an_acl_user_and_the_ca_given():
    client = redis_client("rediss://pe:s%40cret@cache:6380/0?ssl_ca_certs=/etc/ca.pem", 0.05)
    assert client.connection_pool.connection_class is redis.SSLConnection
    kwargs = connection_kwargs(client)
    assert (kwargs["username"], kwargs["password"], kwargs["ssl_ca_certs"]) == ("pe", "s@cret", "/etc/ca.pem")


def test_a_cluster_url_seeds_the_cluster_client_with_every_host():
    client = redis_client("rediss+cluster://pe:pw@n1:7000,n2:7001,[::1]:7002?ssl_cert_reqs=none", 0.05)
    assert isinstance(client, RedisCluster)
    seeds = {(node.host, node.port) for node in client.nodes_manager.startup_nodes.values()}
    assert seeds == {("n1", 7000), ("n2", 7001), ("::1", 7002)}
    kwargs = client.connection_kwargs
    assert (kwargs["username"], kwargs["password"], kwargs["ssl_cert_reqs"]) == ("pe", "pw", "none")
    assert kwargs["connection_class"] is redis.SSLConnection


def test_a_sentinel_url_follows_the_named_master_with_separate_sentinel_credentials():
    client = redis_client("redis+sentinel://pe:pw@s1,s2:26380/mymaster/3?sentinel_password=sp", 0.05)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool) and pool.service_name == "mymaster"
    assert (pool.connection_kwargs["username"], pool.connection_kwargs["password"]) == ("pe", "pw")
    assert pool.connection_kwargs["db"] == 3
    sentinels = pool.sentinel_manager.sentinels
    assert [
        (s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"]) for s in sentinels
    ] == [
        ("s1", 26379),
        ("s2", 26380),
    ]
    assert sentinels[0].connection_pool.connection_kwargs["password"] == "sp"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://cache:6379", "unsupported Redis URL scheme"),
        ("redis+sentinel://s1:26379", "names the master"),
        ("redis+cluster://n1:port", "bad host:port"),
        ("redis+cluster://", "names no host"),
    ],
)
def test_a_bad_url_is_refused_with_a_clear_message(url, says):
    with pytest.raises(RedisUrlError, match=says):
        redis_client(url, 0.05)


def test_serve_refuses_a_bad_redis_url_in_one_line_before_starting():
    command = [sys.executable, "-m", "policy_engine.cli", "serve", "--redis-url", "redis+sentinel://s1:26379"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "policy-engine serve: error: --redis-url (REDIS_URL): "
        "a redis+sentinel:// URL names the master after the hosts: .../mymaster[/db]"
    ]
