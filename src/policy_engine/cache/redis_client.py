"""A Redis client for a URL, as production runs Redis: TLS, ACL users, Sentinel or Cluster.

    redis://[user:password@]host:6379/0             one server (redis-py's own URL syntax)
    rediss://[user:password@]host:6380/0?ssl_ca_certs=/etc/redis/ca.pem
                                                    TLS; also ssl_certfile, ssl_keyfile (client
                                                    certificates), ssl_cert_reqs=none|optional|required
    redis+sentinel://[user:password@]s1:26379,s2:26379/mymaster[/0]
                                                    Sentinel: the master of `mymaster`, found and
                                                    followed through the sentinels; the user and
                                                    password are the master's, sentinel_username= and
                                                    sentinel_password= the sentinels' own, if any
    redis+cluster://[user:password@]n1:7000,n2:7001 Redis Cluster (redis-py's cluster client); the
                                                    hosts are seeds, the rest is discovered
    rediss+sentinel://, rediss+cluster://           the same over TLS, with the same ssl_* options

The query's other options are redis-py's connection options (socket_keepalive=true, ...).
"""

from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel

SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster")
RedisClient = redis.Redis | RedisCluster


class RedisUrlError(ValueError):
    pass


def redis_client(url: str, timeout: float) -> RedisClient:
    """A client whose every connection and command gives up after `timeout` seconds."""
    parts = urlsplit(url)
    base, _, topology = parts.scheme.partition("+")
    if parts.scheme not in SCHEMES:
        raise RedisUrlError(f"unsupported Redis URL scheme {parts.scheme!r}: use one of {', '.join(SCHEMES)}")
    timeouts = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if not topology:
        return redis.Redis.from_url(url, **timeouts)
    hosts = _hosts(parts)
    if topology == "cluster":
        # The first seed is the URL's host (redis-py parses credentials, TLS and options from it).
        first = _single_url(parts, base, hosts[0], "")  # a cluster has one database
        seeds = [ClusterNode(host, port) for host, port in hosts[1:]]
        return RedisCluster.from_url(first, startup_nodes=seeds, **timeouts)
    return _sentinel_master(parts, base, hosts, timeouts)


def is_cluster(client: RedisClient) -> bool:
    return isinstance(client, RedisCluster)


def _sentinel_master(parts: SplitResult, base: str, hosts: list[tuple[str, int]], timeouts: dict) -> redis.Redis:
    service, _, db = parts.path.strip("/").partition("/")
    if not service:
        raise RedisUrlError("a redis+sentinel:// URL names the master after the hosts: .../mymaster[/db]")
    options = dict(parse_qsl(parts.query))
    sentinel_auth = {k.removeprefix("sentinel_"): options.pop(k) for k in list(options) if k.startswith("sentinel_")}
    # The master's connection options, parsed by redis-py from an equivalent single-server URL.
    master = redis.connection.parse_url(_single_url(parts._replace(query=urlencode(options)), base, hosts[0], db))
    ssl = master.pop("connection_class", None) is redis.SSLConnection
    for key in ("host", "port", "path"):
        master.pop(key, None)
    tls = {k: v for k, v in master.items() if k.startswith("ssl")} | ({"ssl": True} if ssl else {})
    sentinel = Sentinel(hosts, sentinel_kwargs={**timeouts, **tls, **sentinel_auth}, **timeouts, **master, **tls)
    return sentinel.master_for(service, **timeouts)


def _hosts(parts: SplitResult) -> list[tuple[str, int]]:
    default_port = 26379 if "sentinel" in parts.scheme else 6379
    hosts = []
    for item in filter(None, parts.netloc.rpartition("@")[2].split(",")):
        if item.startswith("["):  # [IPv6]:port
            host, _, rest = item[1:].partition("]")
            port = rest.removeprefix(":")
        else:
            host, _, port = item.partition(":")
        try:
            hosts.append((host, int(port) if port else default_port))
        except ValueError:
            raise RedisUrlError(f"bad host:port {item!r} in the Redis URL") from None
    if not hosts:
        raise RedisUrlError("the Redis URL names no host")
    return hosts


def _single_url(parts: SplitResult, base: str, host: tuple[str, int], path: str) -> str:
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials + '@' if credentials else ''}{host[0]}:{host[1]}"
    return urlunsplit((base, netloc, f"/{path.strip('/')}" if path.strip("/") else "", parts.query, ""))
