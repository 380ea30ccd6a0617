"""The old plan's own baseline: sequential calls of the service's evaluation function, in process.

Cold: no cache, every call evaluates. Warm: the same requests again, after a first pass
filled the L1 cache. No HTTP: this is the decision path's own latency, from the request
body's bytes (the old service parsed the whole body before its evaluation function ran; this
one decodes what the policy reads while making the key, so the parse is timed in both).
"""

import asyncio
import dataclasses
import time

import orjson

from policy_engine.bench.stats import percentiles_us
from policy_engine.config import Settings
from policy_engine.http.acgs_endpoints import AcgsEndpoints
from policy_engine.http.acgs_request import parse_evaluate_request
from policy_engine.http.app import build_decisions
from policy_engine.http.ids import decision_id
from policy_engine.metrics import Metrics
from policy_engine.workload.trace import WorkloadParams, generate


async def _timed_pass(endpoints: AcgsEndpoints, bodies: list[bytes]) -> tuple[list[int], int]:
    samples, hits = [], 0
    clock = time.perf_counter_ns
    for body in bodies:
        start = clock()
        outcome = await endpoints.decide(parse_evaluate_request(body), decision_id())
        samples.append(clock() - start)
        hits += outcome.cache_hit
    return samples, hits


async def _measure(settings: Settings, requests: list[bytes], passes: int) -> dict:
    metrics = Metrics()
    decisions = await build_decisions(settings, metrics)
    endpoints = AcgsEndpoints(decisions, metrics, settings.query, settings.max_body_bytes)
    for _ in range(passes - 1):
        await _timed_pass(endpoints, requests)
    samples, hits = await _timed_pass(endpoints, requests)
    await decisions.close()
    return {**percentiles_us(samples), "hit_rate": round(hits / len(requests), 4)}


VARIANTS = {
    "cold": {"cache_enabled": False},  # every call evaluates: the miss path
    "cold_no_pe": {"cache_enabled": False, "partial_eval": False},  # the miss path without residuals
    "warm": {},  # the second pass over the same requests: the hit path
}


def run_in_process(params: WorkloadParams, repeats: int = 1) -> dict:
    """Per variant, the median run (by p99) of `repeats`, with the p99 range."""
    requests = [orjson.dumps(b) for b in generate(params)]
    base = Settings.from_env({})
    result: dict = {"requests": len(requests), "repeats": repeats}
    for name, overrides in VARIANTS.items():
        settings = dataclasses.replace(base, **overrides)
        runs = sorted(
            (asyncio.run(_measure(settings, requests, passes=2)) for _ in range(repeats)), key=lambda r: r["p99_us"]
        )
        result[name] = {**runs[len(runs) // 2], "p99_us_range": [runs[0]["p99_us"], runs[-1]["p99_us"]]}
    return result
