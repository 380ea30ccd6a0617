"""A policy snapshot: everything that belongs to one bundle revision, owned in one place.

The engine (the bridge's bundle handle), its prepared queries, the residuals of the default
entrypoint and their key builders live and die together. A request takes the current
snapshot once and uses it to the end, so a reload never mixes revisions within a request
and never fails one: the old snapshot is simply dropped, and its native handles are released
by their finalizers once the last request holding any part of it lets go. Everything a
client can make grow (distinct paths, new actions) is bounded.
"""

import asyncio
from collections.abc import Iterable

import msgspec

from policy_engine.cache.keys import KeyBuilder
from policy_engine.engine.engine import Engine, PreparedQuery
from policy_engine.engine.residuals import MAX_RESIDUALS, config_actions, specialise
from policy_engine.metrics import Metrics

MAX_ENTRYPOINTS = 1024


class Entrypoint:
    """A prepared query with the key builder its reads allow (None: not cacheable)."""

    def __init__(self, engine: Engine, prepared: PreparedQuery, name: str | None = None) -> None:
        self.prepared = prepared
        reads = prepared.reads
        self.keys = (
            KeyBuilder(engine.revision, name or prepared.query, reads.paths, prepared.cache_key)
            if reads.cacheable
            else None
        )
        self.uncacheable_reason = (
            "" if reads.cacheable else ("whole_input" if reads.whole_input else "nondeterministic")
        )


class _Action(msgspec.Struct):
    action: str | None = None


_action_decoder = msgspec.json.Decoder(_Action)


def action_of(input_json: bytes) -> str | None:
    """The input's `action` when it is a string (decoded as OPA decodes it), else None."""
    try:
        return _action_decoder.decode(input_json).action
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None


def residual_entries(engine: Engine, residuals: dict[str, PreparedQuery]) -> dict[str, Entrypoint]:
    """Residuals' entrypoints by action: their keys are their own (the action is part of the name)."""
    query = engine.entrypoint.query
    return {action: Entrypoint(engine, r, name=f"{query}#action={action}") for action, r in residuals.items()}


def known_actions(engine: Engine) -> set[str]:
    """The actions worth a residual up front: the policy's configuration lists and the constants
    it compares `input.action` with."""
    return config_actions(engine) | set(engine.entrypoint.reads.comparisons.get("action", ()))


class PolicySnapshot:
    """One revision's engine, entrypoints and residuals. Build it off the event loop."""

    def __init__(self, engine: Engine, metrics: Metrics, partial_eval: bool = True) -> None:
        self.engine = engine
        self.revision = engine.revision  # the content hash: in every cache key
        self.manifest_revision = engine.manifest_revision  # the revision people know
        self.metrics = metrics
        self.partial_eval = partial_eval
        self._entrypoints: dict[str, Entrypoint] = {}
        self._learning: set[str] = set()
        self._unspecialisable: set[str] = set()  # partial evaluation failed: the full query serves them
        self._residuals: dict[str, Entrypoint] = {}
        if partial_eval:
            self._residuals = residual_entries(engine, specialise(engine, engine.entrypoint, known_actions(engine)))

    @property
    def query(self) -> str:
        return self.engine.entrypoint.query

    def route(self, query: str, input_json: bytes | None, action: str | None = None) -> Entrypoint:
        """The residual for the input's action when there is one, else the query itself."""
        if self.partial_eval and query == self.query and input_json is not None:
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

    def entrypoint(self, query: str) -> Entrypoint:
        found = self._entrypoints.get(query)
        if found is None:
            if len(self._entrypoints) >= MAX_ENTRYPOINTS:
                self._entrypoints.clear()  # clients choose paths: bounded, rebuilt on demand
            found = self._entrypoints[query] = Entrypoint(self.engine, self.engine.prepare(query))
        return found

    async def specialise_actions(self, actions: Iterable[str]) -> None:
        """Residuals for these actions now (warm-up calls this, so that warmed keys are final)."""
        missing = [a for a in actions if a not in self._residuals][: MAX_RESIDUALS - len(self._residuals)]
        if not self.partial_eval or not missing:
            return
        residuals = await asyncio.to_thread(specialise, self.engine, self.engine.entrypoint, missing)
        self._residuals.update(residual_entries(self.engine, residuals))

    def _learn(self, action: str) -> None:
        """Specialise on an action first seen now, in a worker thread; the full query serves meanwhile."""
        if action in self._learning or action in self._unspecialisable:
            return
        if len(self._residuals) + len(self._learning) >= MAX_RESIDUALS:
            return
        self._learning.add(action)
        engine = self.engine
        task = asyncio.get_running_loop().run_in_executor(None, specialise, engine, engine.entrypoint, [action])
        task.add_done_callback(lambda done: self._learned(action, done))

    def _learned(self, action: str, done: asyncio.Future) -> None:
        self._learning.discard(action)
        residuals = {} if done.exception() is not None else done.result()
        if action not in residuals:
            self._unspecialisable.add(action)  # not tried again: the full query serves it
        self._residuals.update(residual_entries(self.engine, residuals))
