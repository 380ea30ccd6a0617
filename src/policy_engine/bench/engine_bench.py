"""`policy-engine bench engine`: the bridge in process vs. OPA as a separate server.

Inputs are the reference workload's requests turned into OPA inputs. The bridge is timed
on what the service sends it (the input projected onto what the policy reads) and on the
full input; the sidecar gets the full input over HTTP, as the old service sent it.
"""

import argparse
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import orjson

from policy_engine.batching.batcher import Deadlines
from policy_engine.bench.opa_server import OpaClient, opa_server
from policy_engine.bench.stats import percentiles_us, rss_mb
from policy_engine.engine.engine import Engine
from policy_engine.engine.errors import EvaluationTimeout
from policy_engine.engine.residuals import specialise
from policy_engine.http.acgs_request import opa_input, parse_evaluate_request
from policy_engine.snapshot import Entrypoint, action_of, residual_entries
from policy_engine.workload.trace import WorkloadParams, generate

ENTRYPOINT_PATH = "acgs/constitutional/evaluate"
SLICE = Deadlines.slice  # the deadline an evaluation gets on the event loop
T = TypeVar("T")


def workload_inputs(params: WorkloadParams) -> list[bytes]:
    """The trace's OPA inputs, as the service builds them (JSON)."""
    return [opa_input(parse_evaluate_request(orjson.dumps(body))) for body in generate(params)]


def _time_each(call: Callable[[T], object], payloads: Sequence[T]) -> list[int]:
    samples = []
    clock = time.perf_counter_ns
    for payload in payloads:
        start = clock()
        call(payload)
        samples.append(clock() - start)
    return samples


def _time_residuals(engine: Engine, inputs: Sequence[bytes], warmup: int) -> tuple[list[int], list[int], list[int]]:
    """Single calls routed as the service routes them, to the residual of the input's action, on
    the full input (a miss); the same under the event-loop slice's deadline (what the service
    does); and the exact key of each (what every request pays before a hit)."""
    actions = [action_of(i) for i in inputs]
    residuals = residual_entries(engine, specialise(engine, engine.entrypoint, {a for a in actions if a}))
    full = Entrypoint(engine, engine.entrypoint)
    calls = []
    for document, action in zip(inputs, actions, strict=True):
        entry = residuals.get(action or "", full)
        assert entry.keys is not None, "the policy reads the input through constant paths"
        calls.append((entry, document))

    def evaluate(call: tuple[Entrypoint, bytes]) -> object:
        return call[0].prepared.evaluate_json(call[1])

    def with_deadline(call: tuple[Entrypoint, bytes]) -> object:
        try:
            return call[0].prepared.evaluate_json(call[1], SLICE)
        except EvaluationTimeout:  # past the slice: the service runs it again on a thread
            return call[0].prepared.evaluate_json(call[1])

    def key(call: tuple[Entrypoint, bytes]) -> object:
        return call[0].keys.key(call[1])  # type: ignore[union-attr]

    for timed in (evaluate, with_deadline, key):
        _time_each(timed, calls[:warmup])
    plain, deadline = _time_each(evaluate, calls), _time_each(with_deadline, calls)
    return plain, deadline, _time_each(key, calls)


def _time_batches(engine: Engine, payloads: Sequence[bytes], size: int) -> dict:
    batches = [payloads[i : i + size] for i in range(0, len(payloads) - size + 1, size)]
    started = time.perf_counter_ns()
    samples = _time_each(lambda batch: engine.entrypoint.evaluate_many_json(batch), batches)  # type: ignore[arg-type]
    elapsed = time.perf_counter_ns() - started
    figures = percentiles_us(samples)
    figures["per_decision_us"] = round(elapsed / (len(batches) * size) / 1000, 2)
    figures["decisions_per_s"] = round(len(batches) * size / (elapsed / 1e9))
    return figures


def _throughput(samples: Sequence[int]) -> int:
    return round(len(samples) / (sum(samples) / 1e9))


def run_engine_bench(params: WorkloadParams, warmup: int, sidecar: bool) -> dict:
    inputs = workload_inputs(params)
    engine = Engine()
    full = list(inputs)
    projected = [engine.entrypoint.cache_key(i) for i in inputs]
    evaluate = engine.entrypoint.evaluate_json
    _time_each(evaluate, projected[:warmup] + full[:warmup])
    single = _time_each(evaluate, projected)
    single_full = _time_each(evaluate, full)
    residual, residual_deadline, residual_key = _time_residuals(engine, inputs, warmup)
    result: dict = {
        "workload": {"seed": params.seed, "agents": params.agents, "requests": params.requests},
        "opa_version": engine.version()["opa"],
        "embedded_single": {**percentiles_us(single), "evals_per_s": _throughput(single)},
        "embedded_single_full_input": {
            **percentiles_us(single_full),
            "evals_per_s": _throughput(single_full),
        },
        "embedded_single_residual": {**percentiles_us(residual), "evals_per_s": _throughput(residual)},
        "embedded_single_residual_deadline": {
            **percentiles_us(residual_deadline),
            "evals_per_s": _throughput(residual_deadline),
        },
        "exact_key_residual": percentiles_us(residual_key),
        "embedded_batch_10": _time_batches(engine, projected, 10),
        "embedded_batch_100": _time_batches(engine, projected, 100),
        "rss_mb": rss_mb(),
    }
    if sidecar:
        result["opa_server_http"] = _sidecar(full, warmup)
        ratio = result["opa_server_http"]
        result["sidecar_over_embedded"] = {
            q.removesuffix("_us"): round(ratio[q] / result["embedded_single"][q], 2) for q in ("p50_us", "p99_us")
        }
    return result


def _sidecar(full: Sequence[bytes], warmup: int) -> dict:
    with opa_server() as url:
        client = OpaClient(url)
        _time_each(lambda b: client.decide(ENTRYPOINT_PATH, b), full[:warmup])
        samples = _time_each(lambda b: client.decide(ENTRYPOINT_PATH, b), full)
        client.close()
    return {**percentiles_us(samples), "evals_per_s": _throughput(samples)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-sidecar", action="store_true", help="skip the `opa run --server` comparison")
    parser.add_argument("--warmup", type=int, default=2000, help="decisions made before timing (default 2000)")


def report(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"In-process engine vs OPA server, workload {result['workload']}")
    for column in ("path", "p50 µs", "p95 µs", "p99 µs", "p99.9 µs", "decisions/s"):
        table.add_column(column, justify="right")
    for name, figures in result.items():
        if isinstance(figures, dict) and "p50_us" in figures:
            rate = figures.get("evals_per_s") or figures.get("decisions_per_s")
            row = [figures[k] for k in ("p50_us", "p95_us", "p99_us", "p999_us")]
            table.add_row(name, *map(str, row), str(rate))
    console = Console()
    console.print(table)
    console.print(f"RSS {result['rss_mb']} MB; OPA {result['opa_version']}")
    if "sidecar_over_embedded" in result:
        console.print(f"OPA server over HTTP / embedded single call: {result['sidecar_over_embedded']}")
