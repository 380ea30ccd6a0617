"""The decision path below HTTP: given a query and an input, a decision.

Two implementations: `EmbeddedDecisions` (cache, then batcher, then the in-process engine)
and `OpaHttpDecisions` (the old path: an external OPA over HTTP). The HTTP layer only knows
the `Decisions` protocol.
"""

import asyncio
from dataclasses import dataclass
from typing import Protocol

import msgspec
import orjson

from policy_engine.batching.batcher import Evaluator
from policy_engine.cache.decision_cache import DecisionCache
from policy_engine.cache.keys import KeyBuilder
from policy_engine.cache.l1 import UNDEFINED
from policy_engine.cache.l2 import RedisTier
from policy_engine.engine.engine import Engine, PreparedQuery
from policy_engine.engine.errors import InvalidInput
from policy_engine.engine.opa_http import OpaHttpClient
from policy_engine.engine.residuals import MAX_RESIDUALS, config_actions, specialise
from policy_engine.metrics import Metrics


@dataclass(slots=True)
class Decided:
    result: bytes | None  # the result's JSON; None when the query is undefined
    cache_hit: bool = False


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


class Entrypoint:
    """A prepared query with the key builder its reads allow (None: not cacheable)."""

    def __init__(self, engine: Engine, prepared: PreparedQuery, name: str | None = None) -> None:
        self.prepared = prepared
        reads = prepared.reads
        self.keys = KeyBuilder(engine.revision, name or prepared.query, prepared.cache_key) if reads.cacheable else None
        self.uncacheable_reason = (
            "" if reads.cacheable else ("whole_input" if reads.whole_input else "nondeterministic")
        )


class _Action(msgspec.Struct):
    action: str | None = None


_action_decoder = msgspec.json.Decoder(_Action)
MAX_ENTRYPOINTS = 1024


def action_of(input_json: bytes) -> str | None:
    """The input's `action` when it is a string (decoded as OPA decodes it), else None."""
    try:
        return _action_decoder.decode(input_json).action
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def residual_entries(engine: Engine, residuals: dict[str, PreparedQuery]) -> dict[str, Entrypoint]:
    """Residuals' entrypoints by action: their keys are their own (the action is part of the name)."""
    query = engine.entrypoint.query
    return {action: Entrypoint(engine, r, name=f"{query}#action={action}") for action, r in residuals.items()}


class EmbeddedDecisions:
    """OPA in process: the cache, then the batcher, then the engine."""

    def __init__(
        self,
        engine: Engine,
        metrics: Metrics,
        cache: DecisionCache | None,
        batcher: Evaluator,
        partial_eval: bool = True,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.cache = cache
        self.batcher = batcher
        self.partial_eval = partial_eval
        self.revision = engine.revision
        self.ready = True
        self._entrypoints: dict[str, Entrypoint] = {}
        self._learning: set[str] = set()
        self._unspecialisable: set[str] = set()  # partial evaluation failed: the full query serves them
        self._residuals = self.residuals_for(engine)

    @property
    def l2(self) -> RedisTier | None:
        """The shared Redis tier, when the cache has one."""
        return self.cache.l2 if self.cache is not None else None

    def residuals_for(self, engine: Engine) -> dict[str, Entrypoint]:
        """Residual entrypoints of the default query, by action (none when partial eval is off)."""
        if not self.partial_eval:
            return {}
        full = engine.entrypoint
        actions = config_actions(engine) | set(full.reads.comparisons.get("action", ()))
        return residual_entries(engine, specialise(engine, full, actions))

    def swap(self, engine: Engine, residuals: dict[str, Entrypoint]) -> None:
        """Serve from a new bundle (and its `residuals_for`) from now on; old cache entries are dropped."""
        old = self.engine
        self.engine, self.revision, self._entrypoints = engine, engine.revision, {}
        self._residuals, self._unspecialisable = residuals, set()
        if self.cache is not None:
            self.cache.clear()
        old.close()

    def route(self, query: str, input_json: bytes | None, action: str | None = None) -> Entrypoint:
        """The residual for the input's action when there is one, else the query itself."""
        if self.partial_eval and query == self.engine.entrypoint.query and input_json is not None:
            if action is None:
                action = action_of(input_json)
            if action is not None:
                residual = self._residuals.get(action)
                if residual is not None:
                    self.metrics.residual.inc("residual")
                    return residual
                self._learn(action)
            self.metrics.residual.inc("full")
        return self.entrypoint(query)

    async def specialise_actions(self, actions: set[str]) -> None:
        """Residuals for these actions now (warm-up calls this, so that warmed keys are final)."""
        engine = self.engine
        missing = [a for a in actions if a not in self._residuals][: MAX_RESIDUALS - len(self._residuals)]
        if not self.partial_eval or not missing:
            return
        residuals = await asyncio.to_thread(specialise, engine, engine.entrypoint, missing)
        if engine is self.engine:
            self._residuals.update(residual_entries(engine, residuals))

    def _learn(self, action: str) -> None:
        """Specialise on an action first seen now, in a worker thread; the full query serves meanwhile."""
        if action in self._learning or action in self._unspecialisable:
            return
        if len(self._residuals) + len(self._learning) >= MAX_RESIDUALS:
            return
        self._learning.add(action)
        engine = self.engine
        task = asyncio.get_running_loop().run_in_executor(None, specialise, engine, engine.entrypoint, [action])
        task.add_done_callback(lambda done: self._learned(engine, action, done))

    def _learned(self, engine: Engine, action: str, done: asyncio.Future) -> None:
        self._learning.discard(action)
        if engine is not self.engine:
            return  # the bundle changed meanwhile
        residuals = {} if done.exception() is not None else done.result()
        if action not in residuals:
            self._unspecialisable.add(action)  # not tried again: the full query serves it
        self._residuals.update(residual_entries(engine, residuals))

    def other_revision(self, revision: str) -> None:
        """Another instance loaded `revision`: entries under any other revision are dead."""
        if revision != self.revision and self.cache is not None:
            self.cache.clear()

    def entrypoint(self, query: str) -> Entrypoint:
        found = self._entrypoints.get(query)
        if found is None:
            if len(self._entrypoints) >= MAX_ENTRYPOINTS:
                self._entrypoints.clear()  # clients choose paths: bounded, rebuilt on demand
            found = self._entrypoints[query] = Entrypoint(self.engine, self.engine.prepare(query))
        return found

    def key_for(self, query: str, input_json: bytes) -> bytes:
        """The cache key `decide` uses for this input (for benchmarks and tests)."""
        keys = self.route(query, input_json).keys
        assert keys is not None, "entrypoint is not cacheable"
        return keys.key(input_json)

    async def decide(self, query: str, input_json: bytes | None, action: str | None = None) -> Decided:
        entry = self.route(query, input_json, action)
        if input_json is None:
            return Decided(entry.prepared.evaluate_json(None))
        if entry.keys is None:
            self.metrics.cache_uncacheable.inc(entry.uncacheable_reason)
        if entry.keys is None or self.cache is None:
            return Decided(await self.batcher.evaluate(entry.prepared, input_json))
        try:
            key = entry.keys.key(input_json)
        except InvalidInput:
            # OPA cannot read this input: its evaluation answers with OPA's error.
            return Decided(await self.batcher.evaluate(entry.prepared, input_json))
        cached = await self.cache.get(key)
        if cached is not None:
            if self.cache.should_shadow():
                fresh = await self.batcher.evaluate(entry.prepared, input_json)
                return Decided(self.cache.shadow_result(key, cached, fresh), cache_hit=True)
            return Decided(None if cached == UNDEFINED else cached, cache_hit=True)
        # A miss evaluates the client's whole input: the projection is only ever a key.
        result = await self.batcher.evaluate(entry.prepared, input_json)
        self.cache.put(key, result)
        return Decided(result)

    async def compile(self, body: bytes) -> tuple[int, bytes]:
        return 200, orjson.dumps({"result": self.engine.compile(body)})

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
