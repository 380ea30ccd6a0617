"""The decision path below HTTP: given a query and an input, a decision.

Two implementations: `EmbeddedDecisions` (cache, then batcher, then the in-process engine)
and `OpaHttpDecisions` (the old path: an external OPA over HTTP). The HTTP layer only knows
the `Decisions` protocol.
"""

import asyncio
from typing import Protocol

import msgspec
import orjson

from policy_engine.batching.batcher import Evaluator
from policy_engine.cache.decision_cache import DecisionCache
from policy_engine.cache.l1 import UNDEFINED
from policy_engine.cache.l2 import RedisTier
from policy_engine.engine.engine import Engine
from policy_engine.engine.errors import InvalidInput
from policy_engine.engine.opa_http import OpaHttpClient
from policy_engine.metrics import Metrics
from policy_engine.snapshot import Entrypoint, PolicySnapshot


class Decided(msgspec.Struct):
    result: bytes | None  # the result's JSON; None when the query is undefined
    cache_hit: bool = False
    tier: str = ""  # the cache tier that answered: l1 or l2
    revision: str = ""  # the bundle revision that decided (its manifest's), for decision logs


class Decisions(Protocol):
    revision: str

    async def decide(self, query: str, input_json: bytes | None, action: str | None = None) -> Decided:
        """The query's result for the input (the client's JSON bytes; None: no input).
        `action` is the input's action when the caller already knows it."""
        ...

    async def compile(self, body: bytes) -> tuple[int, bytes]: ...

    async def dependencies(self) -> dict[str, str]: ...

    def is_ready(self) -> bool: ...

    async def close(self) -> None: ...


class EmbeddedDecisions:
    """OPA in process: the cache, then the batcher, then the engine of the current snapshot."""

    def __init__(
        self,
        snapshot: PolicySnapshot,
        metrics: Metrics,
        cache: DecisionCache | None,
        batcher: Evaluator,
    ) -> None:
        self.snapshot = snapshot
        self.metrics = metrics
        self.cache = cache
        self.batcher = batcher
        self.ready = True

    @property
    def revision(self) -> str:
        return self.snapshot.revision

    @property
    def engine(self) -> Engine:
        return self.snapshot.engine

    @property
    def l2(self) -> RedisTier | None:
        """The shared Redis tier, when the cache has one."""
        return self.cache.l2 if self.cache is not None else None

    def swap(self, snapshot: PolicySnapshot) -> None:
        """Serve from a new snapshot from now on: one assignment. Requests that hold the old one
        finish on it; it is released with its last holder. Cache entries of the old revision are
        never read again (the revision is in every key) and age out."""
        self.snapshot = snapshot

    def warming(self, snapshot: PolicySnapshot) -> "EmbeddedDecisions":
        """The same cache and batcher over a snapshot not yet active: warms entries under its revision."""
        return EmbeddedDecisions(snapshot, self.metrics, self.cache, self.batcher)

    def route(self, query: str, input_json: bytes | None, action: str | None = None) -> Entrypoint:
        return self.snapshot.route(query, input_json, action)

    async def specialise_actions(self, actions: set[str]) -> None:
        await self.snapshot.specialise_actions(actions)

    def key_for(self, query: str, input_json: bytes) -> bytes:
        """The cache key `decide` uses for this input (for benchmarks and tests)."""
        keys = self.route(query, input_json).keys
        assert keys is not None, "entrypoint is not cacheable"
        return keys.key(input_json)

    async def decide(self, query: str, input_json: bytes | None, action: str | None = None) -> Decided:
        snapshot = self.snapshot  # one snapshot for the whole request
        entry = snapshot.route(query, input_json, action)
        cache, key = self.cache, self._key(entry, input_json)
        if cache is not None and key is not None:
            cached, tier = cache.l1_hit(key), "l1"
            if cached is None:
                cached, tier = await cache.l2_hit(key), "l2"
            if cached is not None:
                if cache.should_shadow():
                    fresh = await self.batcher.evaluate(entry.prepared, input_json)
                    return Decided(cache.shadow_result(key, cached, fresh), True, tier, snapshot.manifest_revision)
                return Decided(None if cached == UNDEFINED else cached, True, tier, snapshot.manifest_revision)
        # A miss evaluates the client's whole input: the projection is only ever a key.
        result = await self.batcher.evaluate(entry.prepared, input_json)
        if cache is not None and key is not None:
            cache.put(key, result)
        return Decided(result, False, "", snapshot.manifest_revision)

    def _key(self, entry: Entrypoint, input_json: bytes | None) -> bytes | None:
        """The cache key of this input, or None when its decision is not to be cached."""
        if input_json is None:
            return None
        if entry.keys is None:
            self.metrics.cache_uncacheable.inc(entry.uncacheable_reason)
            return None
        if self.cache is None:
            return None
        try:
            return entry.keys.key(input_json)
        except InvalidInput:
            return None  # OPA cannot read this input: its evaluation answers with OPA's error

    async def compile(self, body: bytes) -> tuple[int, bytes]:
        """A client's query, on a thread and within the evaluation deadline: never on the event loop."""
        timeout = self.batcher.deadlines.timeout
        return 200, orjson.dumps({"result": await asyncio.to_thread(self.engine.compile, body, timeout)})

    async def dependencies(self) -> dict[str, str]:
        return {
            "opa": f"embedded (OPA {self.engine.version()['opa']})",
            "redis": self.l2.state() if self.l2 is not None else "not_configured",
        }

    def is_ready(self) -> bool:
        return self.ready

    async def close(self) -> None:
        if self.l2 is not None:
            await self.l2.close()


class OpaHttpDecisions:
    """The old path: every decision is a POST to an external OPA."""

    def __init__(self, client: OpaHttpClient, metrics: Metrics) -> None:
        self.client = client
        self.revision = "external"
        metrics.gauge(
            "opa_circuit_breaker_state",
            "External OPA breaker: 0 closed, 1 open, 2 half-open",
            lambda: int(client.breaker.state),
            mode="livemax",  # across workers, the worst
        )

    async def decide(self, query: str, input_json: bytes | None, action: str | None = None) -> Decided:
        path = query.removeprefix("data").lstrip(".").replace(".", "/")
        if input_json is None:
            status, payload = await self.client.request("GET", f"/v1/data/{path}")
            document = orjson.loads(payload) if status == 200 else {}
            return Decided(orjson.dumps(document["result"]) if "result" in document else None)
        return Decided(await self.client.decide(path, input_json))

    async def compile(self, body: bytes) -> tuple[int, bytes]:
        return await self.client.request("POST", "/v1/compile", body)

    async def dependencies(self) -> dict[str, str]:
        reachable = await self.client.healthy()
        return {"opa": f"{self.client.base_url} ({'reachable' if reachable else 'unreachable'})"}

    def is_ready(self) -> bool:
        return True

    async def close(self) -> None:
        await self.client.close()
