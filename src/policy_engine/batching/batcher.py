"""The opportunistic batcher between the cache and the engine, and the deadline of every evaluation.

Misses of one event-loop tick go out together in one bridge call; so do those that arrive
while a call runs (the call holds the loop, so they are read in the next tick). Nobody
waits for a window unless one is configured. Identical concurrent misses are evaluated once.

Every evaluation is bounded twice. On the event loop it gets one scheduling slice: what OPA
has not finished by then is cancelled there and run again on a worker thread, so a slow
input never holds up /health or anyone else's request for longer than a slice. In all it gets
`timeout` seconds, after which OPA cancels it and it fails with EvaluationTimeout (a
fail-closed deny on the ACGS API). Most evaluations take tens of microseconds and never
leave the loop, so the common path pays for one timer, not for a thread hop.
"""

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from policy_engine.engine.engine import PreparedQuery, item_result
from policy_engine.engine.errors import EvaluationTimeout
from policy_engine.metrics import Metrics

_Item = tuple[bytes | None, PreparedQuery, asyncio.Future]


@dataclass(frozen=True)
class Deadlines:
    timeout: float = 1.0  # seconds an evaluation may take in all (--eval-timeout-ms)
    slice: float = 0.005  # seconds it may hold the event loop before moving to a thread
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=4, thread_name_prefix="pe-eval")
    )


class Evaluator(Protocol):
    deadlines: Deadlines

    async def evaluate(self, prepared: PreparedQuery, input_json: bytes | None) -> bytes | None: ...


class _Bounded:
    """Runs calls into the engine under the deadlines, resolving each item's future."""

    def __init__(self, metrics: Metrics, deadlines: Deadlines | None = None) -> None:
        self.metrics = metrics
        self.deadlines = deadlines or Deadlines()

    def _call(self, items: list[_Item]) -> None:
        """On the loop, within a slice; what the slice cut short goes on to a thread."""
        self.metrics.engine_calls.inc()
        self.metrics.batch_size.observe(len(items))
        late = _resolve(items, self.deadlines.slice)
        if late:
            self.metrics.slow_evaluations.inc(n=len(late))
            asyncio.get_running_loop().create_task(self._off_loop(late))

    async def _off_loop(self, items: list[_Item]) -> None:
        remaining = max(self.deadlines.timeout - self.deadlines.slice, 0.001)
        loop = asyncio.get_running_loop()
        late = await loop.run_in_executor(self.deadlines.executor, _resolve_later, loop, items, remaining)
        for _, _, future in late:
            self.metrics.timeouts.inc()
            _settle(future, exception=EvaluationTimeout(f"evaluation timed out after {self.deadlines.timeout:g} s"))


def _resolve(items: Sequence[_Item], timeout: float, settle: Callable[..., None] | None = None) -> list[_Item]:
    """Evaluates the items within timeout and settles their futures; answers those that timed out."""
    settle = settle or _settle
    outcomes = _evaluate(items, timeout)
    late = []
    for item, (result, error) in zip(items, outcomes, strict=True):
        if isinstance(error, EvaluationTimeout):
            late.append(item)
        else:
            settle(item[2], result, error)
    return late


def _resolve_later(loop: asyncio.AbstractEventLoop, items: Sequence[_Item], timeout: float) -> list[_Item]:
    """_resolve on a worker thread: the futures are settled on the loop's thread."""
    return _resolve(items, timeout, lambda *settled: loop.call_soon_threadsafe(_settle, *settled))


def _evaluate(items: Sequence[_Item], timeout: float) -> list[tuple[bytes | None, Exception | None]]:
    """(result, None) or (None, error) per item, from one bridge call."""
    prepared = items[0][1]
    if len(items) == 1:  # a query without input is always alone (Batcher._flush)
        try:
            return [(prepared.evaluate_json(items[0][0], timeout), None)]
        except Exception as exc:
            return [(None, exc)]
    try:
        answers = prepared.evaluate_many_json([input_json for input_json, _, _ in items], timeout)  # type: ignore[misc]
    except Exception as exc:
        return [(None, exc)] * len(items)
    outcomes: list[tuple[bytes | None, Exception | None]] = []
    for answer in answers:
        try:
            outcomes.append((item_result(answer), None))
        except Exception as exc:
            outcomes.append((None, exc))
    return outcomes


def _settle(future: asyncio.Future, result: bytes | None = None, exception: Exception | None = None) -> None:
    if future.done():
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)


class Inline(_Bounded):
    """No batching: each miss calls the engine itself (the baseline batching is measured against)."""

    async def evaluate(self, prepared: PreparedQuery, input_json: bytes | None) -> bytes | None:
        future = asyncio.get_running_loop().create_future()
        self._call([(input_json, prepared, future)])
        return await future


class Batcher(_Bounded):
    def __init__(self, max_batch: int, window_us: int, metrics: Metrics, deadlines: Deadlines | None = None) -> None:
        super().__init__(metrics, deadlines)
        self.max_batch = max(1, max_batch)
        self.window = window_us / 1e6
        self._pending: dict[tuple[int, bytes | None], tuple[PreparedQuery, asyncio.Future]] = {}

    async def evaluate(self, prepared: PreparedQuery, input_json: bytes | None) -> bytes | None:
        key = (id(prepared), input_json)
        found = self._pending.get(key)
        if found is not None:
            self.metrics.single_flight.inc()
            return await asyncio.shield(found[1])
        loop = asyncio.get_running_loop()
        if not self._pending:
            if self.window:
                loop.call_later(self.window, self._flush)
            else:
                loop.call_soon(self._flush)
        future = loop.create_future()
        self._pending[key] = (prepared, future)
        return await future  # a shield here would cost every miss another turn of the loop

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        groups: dict[tuple[int, bool], list[_Item]] = defaultdict(list)
        for (handle, input_json), (prepared, future) in pending.items():
            # Queries without input are evaluated alone: a batch carries inputs.
            groups[(handle, input_json is None)].append((input_json, prepared, future))
        for (_, no_input), items in groups.items():
            size = 1 if no_input else self.max_batch
            for start in range(0, len(items), size):
                self._call(items[start : start + size])
