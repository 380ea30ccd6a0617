"""The opportunistic batcher between the cache and the engine.

Misses of one event-loop tick go out together in one bridge call; so do those that arrive
while a call runs (the call holds the loop, so they are read in the next tick). Nobody
waits for a window unless one is configured. Identical concurrent misses are evaluated once.
"""

import asyncio
from collections import defaultdict
from typing import Protocol

from policy_engine.engine.engine import PreparedQuery, item_result
from policy_engine.metrics import Metrics


class Evaluator(Protocol):
    async def evaluate(self, prepared: PreparedQuery, input_json: bytes) -> bytes | None: ...


class Inline:
    """No batching: each miss calls the engine itself (the baseline batching is measured against)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def evaluate(self, prepared: PreparedQuery, input_json: bytes) -> bytes | None:
        self.metrics.engine_calls.inc()
        self.metrics.batch_size.observe(1)
        return prepared.evaluate_json(input_json)


class Batcher:
    def __init__(self, max_batch: int, window_us: int, metrics: Metrics) -> None:
        self.max_batch = max(1, max_batch)
        self.window = window_us / 1e6
        self.metrics = metrics
        self._pending: dict[tuple[int, bytes], tuple[PreparedQuery, asyncio.Future]] = {}

    async def evaluate(self, prepared: PreparedQuery, input_json: bytes) -> bytes | None:
        key = (id(prepared), input_json)
        found = self._pending.get(key)
        if found is not None:
            self.metrics.single_flight.inc()
            return await found[1]
        loop = asyncio.get_running_loop()
        if not self._pending:
            if self.window:
                loop.call_later(self.window, self._flush)
            else:
                loop.call_soon(self._flush)
        future = loop.create_future()
        self._pending[key] = (prepared, future)
        return await future

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        groups: dict[int, list[tuple[bytes, PreparedQuery, asyncio.Future]]] = defaultdict(list)
        for (handle, input_json), (prepared, future) in pending.items():
            groups[handle].append((input_json, prepared, future))
        for items in groups.values():
            for start in range(0, len(items), self.max_batch):
                self._call(items[start : start + self.max_batch])

    def _call(self, items: list[tuple[bytes, PreparedQuery, asyncio.Future]]) -> None:
        prepared = items[0][1]
        self.metrics.engine_calls.inc()
        self.metrics.batch_size.observe(len(items))
        if len(items) == 1:
            input_json, _, future = items[0]
            try:
                future.set_result(prepared.evaluate_json(input_json))
            except Exception as exc:
                future.set_exception(exc)
            return
        try:
            results = prepared.evaluate_many_json([input_json for input_json, _, _ in items])
        except Exception as exc:
            for _, _, future in items:
                future.set_exception(exc)
            return
        for (_, _, future), item in zip(items, results, strict=True):
            try:
                future.set_result(item_result(item))
            except Exception as exc:
                future.set_exception(exc)
