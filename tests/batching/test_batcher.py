"""The batcher: concurrent misses share one engine call; results are the single results."""

import asyncio

import orjson
import pytest

from policy_engine.batching.batcher import Batcher, Inline
from policy_engine.engine import Engine, EvaluationError
from policy_engine.engine.engine import item_result
from policy_engine.metrics import Metrics
from tests.engine.test_bridge import write_bundle
from tests.support.varied_inputs import varied_inputs


def run(coro):
    return asyncio.run(coro)


def concurrently(batcher: Batcher, prepared, inputs: list[bytes]) -> list:
    """The inputs' evaluations started in the same event-loop tick; a failure is returned, not raised."""

    async def decide_all():
        return await asyncio.gather(*(batcher.evaluate(prepared, raw) for raw in inputs), return_exceptions=True)

    return run(decide_all())


def test_misses_of_one_tick_go_out_in_one_engine_call(engine):
    metrics = Metrics()
    batcher = Batcher(max_batch=64, window_us=0, metrics=metrics)
    inputs = [orjson.dumps(d) for d in varied_inputs(40, seed=51)]
    results = concurrently(batcher, engine.entrypoint, inputs)
    singles = [engine.entrypoint.evaluate_json(raw) for raw in inputs]
    assert [orjson.loads(r) for r in results] == [orjson.loads(s) for s in singles]
    assert metrics.engine_calls.total() == 1
    assert metrics.batch_size.values[()][-1] == 40  # the sum of batch sizes


def test_batches_are_capped(engine):
    metrics = Metrics()
    batcher = Batcher(max_batch=16, window_us=0, metrics=metrics)
    concurrently(batcher, engine.entrypoint, [orjson.dumps(d) for d in varied_inputs(40, seed=52)])
    assert metrics.engine_calls.total() == 3


def test_identical_concurrent_misses_are_evaluated_once(engine):
    metrics = Metrics()
    batcher = Batcher(max_batch=64, window_us=0, metrics=metrics)
    raw = orjson.dumps({"action": "data.read", "context": {"agent": {"trust_level": 0.5}}})

    results = concurrently(batcher, engine.entrypoint, [raw] * 10)
    assert len(set(results)) == 1
    assert metrics.single_flight.total() == 9
    assert metrics.batch_size.values[()][-1] == 1


def test_a_window_gathers_misses_that_arrive_apart(engine):
    metrics = Metrics()
    batcher = Batcher(max_batch=64, window_us=300_000, metrics=metrics)
    first, second = (
        orjson.dumps({"action": "data.read", "context": {"agent": {"trust_level": t}}}) for t in (0.1, 0.9)
    )

    async def apart():
        one = asyncio.ensure_future(batcher.evaluate(engine.entrypoint, first))
        await asyncio.sleep(0.002)
        return await asyncio.gather(one, batcher.evaluate(engine.entrypoint, second))

    results = run(apart())
    assert orjson.loads(results[0])["allow"] is False
    assert orjson.loads(results[1])["allow"] is True
    assert metrics.engine_calls.total() == 1


def test_an_item_that_fails_fails_alone(tmp_path):
    engine = Engine(write_bundle(tmp_path, "package p\n\nx := 1 if input.a\n\nx := 2 if input.b\n"), query="data.p.x")
    batcher = Batcher(max_batch=64, window_us=0, metrics=Metrics())

    inputs = [{"a": True}, {"a": True, "b": True}, {}]
    ok, failed, undefined = concurrently(batcher, engine.entrypoint, [orjson.dumps(d) for d in inputs])
    assert ok == b"1"
    assert isinstance(failed, EvaluationError)
    assert undefined is None


def test_inline_is_the_single_call(engine):
    inline = Inline(Metrics())
    raw = orjson.dumps({"action": "model.train"})
    assert run(inline.evaluate(engine.entrypoint, raw)) == engine.entrypoint.evaluate_json(raw)


@pytest.mark.parametrize("size", [1, 10, 100])
def test_evaluate_many_equals_single_calls(engine, size):
    inputs = [orjson.dumps(d) for d in varied_inputs(size, seed=size)]
    many = engine.entrypoint.evaluate_many_json(inputs)
    singles = [engine.entrypoint.evaluate_json(raw) for raw in inputs]
    assert [item_result(item) for item in many] == singles  # byte for byte
