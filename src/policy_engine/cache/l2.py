"""L2: Redis, shared by instances. Optional, and never in the way.

Redis costs ~150 µs of client CPU per awaited operation from Python, so: the reads of one
event-loop tick go out as one MGET, the writes of one tick as one pipeline that nobody
awaits, counters are flushed once a second, and while Redis is down every call returns at
once (L1 alone serves) until a background ping finds it back.

The client (cache/redis_client.py) is one server, a Sentinel-managed master or a Redis Cluster;
in a cluster, reads are split by slot (MGET per node), and revision announcements use classic
pub/sub, which the cluster broadcasts to every node: instances subscribe on any live node and
publish through any.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from policy_engine.cache.redis_client import is_cluster, redis_client

log = logging.getLogger(__name__)

STATS_KEY = "cache:stats"
REVISIONS_CHANNEL = "pe:v1:revisions"
RETRY_SECONDS = 1.0
# A cluster client's ping discovers the slots and connects to every node; pings are awaited by no
# request (only by startup and the background retry), so they may take longer than a lookup.
CLUSTER_PING_SECONDS = 1.0
REDIS_ERRORS = (TimeoutError, RedisError, RedisClusterException, OSError)


class RedisTier:
    def __init__(self, url: str, ttl: float, timeout: float, on_error: Callable[[], None] = lambda: None) -> None:
        self.url = url
        self.ttl = max(1, int(ttl))
        self.timeout = timeout
        self._on_error = on_error
        self._client = redis_client(url, timeout)
        self._cluster = is_cluster(self._client)
        self._mget_command = self._client.mget_nonatomic if self._cluster else self._client.mget
        self._listen_node = 0  # in a cluster: the node announcements are heard from, rotated on failure
        self._reads: dict[str, asyncio.Future] = {}
        self._writes: list[tuple[str, bytes]] = []
        self._stats: dict[str, int] = {}
        self._down_since: float | None = None
        self._tasks: set[asyncio.Task] = set()
        self._closed = False

    @property
    def up(self) -> bool:
        return self._down_since is None

    def state(self) -> str:
        return "connected" if self.up else "unreachable"

    async def start(self) -> None:
        await self._ping()
        self._spawn(self._housekeeping())

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _failed(self, exc: BaseException) -> None:
        if self._down_since is None:
            log.warning("redis at %s unavailable, serving from L1 alone: %r", self.url, exc)
            self._down_since = time.monotonic()
        self._on_error()

    async def _ping(self) -> bool:
        try:
            if self._cluster:
                ping = self._client.ping(target_nodes=RedisCluster.ALL_NODES)
                await asyncio.wait_for(ping, max(self.timeout, CLUSTER_PING_SECONDS))
            else:
                await asyncio.wait_for(self._client.ping(), self.timeout)
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return False
        if self._down_since is not None:
            log.warning("redis at %s is back", self.url)
        self._down_since = None
        return True

    async def _housekeeping(self) -> None:
        """Pings while down; flushes the counters once a second while up."""
        while not self._closed:
            await asyncio.sleep(RETRY_SECONDS)
            if not self.up:
                await self._ping()
            elif self._stats:
                stats, self._stats = self._stats, {}
                await self._pipeline([("hincrby", STATS_KEY, field, n) for field, n in stats.items()])

    def count(self, field: str, n: int = 1) -> None:
        self._stats[field] = self._stats.get(field, 0) + n

    async def get(self, key: str) -> bytes | None:
        """The cached value, or None on a miss, an error or a timeout."""
        if not self.up:
            return None
        future = self._reads.get(key)
        if future is None:
            if not self._reads:
                asyncio.get_running_loop().call_soon(self._flush_reads)
            future = self._reads[key] = asyncio.get_running_loop().create_future()
        return await future

    def _flush_reads(self) -> None:
        reads, self._reads = self._reads, {}
        self._spawn(self._mget(reads))

    async def _mget(self, reads: dict[str, asyncio.Future]) -> None:
        keys = list(reads)
        try:
            values = await asyncio.wait_for(self._mget_command(keys), self.timeout)
        except REDIS_ERRORS as exc:
            self._failed(exc)
            values = [None] * len(keys)
        for key, value in zip(keys, values, strict=True):
            if not reads[key].done():
                reads[key].set_result(value)

    def put(self, key: str, value: bytes) -> None:
        """Queued; written with the other writes of this tick, never awaited by a request."""
        if not self.up:
            return
        if not self._writes:
            asyncio.get_running_loop().call_soon(self._flush_writes)
        self._writes.append((key, value))

    def _flush_writes(self) -> None:
        writes, self._writes = self._writes, []
        commands = [("set", key, value, self.ttl) for key, value in writes]
        commands.append(("hincrby", STATS_KEY, "total_cached", len(writes)))
        self._spawn(self._pipeline(commands))

    async def _pipeline(self, commands: list[tuple]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for command in commands:
            if command[0] == "set":
                pipe.set(command[1], command[2], ex=command[3])
            else:
                pipe.hincrby(command[1], command[2], command[3])
        try:
            await asyncio.wait_for(pipe.execute(), self.timeout)
        except REDIS_ERRORS as exc:
            self._failed(exc)

    async def publish_revision(self, revision: str) -> None:
        """Best effort; in a cluster, through the first node that takes it."""
        targets = (self._client.get_nodes() if self._cluster else None) or [None]  # None: the client's choice
        error: BaseException = TimeoutError()
        for target in targets:
            kwargs = {} if target is None else {"target_nodes": target}
            try:
                await asyncio.wait_for(self._client.publish(REVISIONS_CHANNEL, revision, **kwargs), self.timeout)
                return
            except REDIS_ERRORS as exc:
                error = exc
        self._failed(error)

    def subscribe_revisions(self, on_revision: Callable[[str], None]) -> None:
        self._spawn(self._listen(on_revision))

    async def _listen(self, on_revision: Callable[[str], None]) -> None:
        while not self._closed:
            pubsub = self._pubsub()
            try:
                await pubsub.subscribe(REVISIONS_CHANNEL)
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        on_revision(message["data"].decode())
            except REDIS_ERRORS as exc:
                self._failed(exc)
                self._listen_node += 1
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                with contextlib.suppress(*REDIS_ERRORS):
                    await asyncio.wait_for(pubsub.aclose(), self.timeout)

    def _pubsub(self) -> PubSub:
        if not self._cluster:
            return self._client.pubsub()
        nodes = self._client.get_nodes()
        if not nodes:  # not yet initialised: the cluster client picks the channel's node
            return self._client.pubsub()
        return self._client.pubsub(node=nodes[self._listen_node % len(nodes)])

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await self._client.aclose()
