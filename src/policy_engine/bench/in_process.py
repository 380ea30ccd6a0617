"""The old plan's own baseline: sequential calls of the service's evaluation function, in process.

Cold: no cache, every call evaluates. Warm: the same requests again, after a first pass
filled the L1 cache. No HTTP: this is the decision path's own latency.
"""

import asyncio
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


async def _timed_pass(endpoints: AcgsEndpoints, requests: list) -> tuple[list[int], int]:
    samples, hits = [], 0
    clock = time.perf_counter_ns
    for request in requests:
        start = clock()
        outcome = await endpoints.decide(request, decision_id())
        samples.append(clock() - start)
        hits += outcome.cache_hit
    return samples, hits


async def _measure(settings: Settings, requests: list, passes: int) -> dict:
    metrics = Metrics()
    decisions = await build_decisions(settings, metrics)
    endpoints = AcgsEndpoints(decisions, metrics, settings.query, settings.max_body_bytes)
    for _ in range(passes - 1):
        await _timed_pass(endpoints, requests)
    samples, hits = await _timed_pass(endpoints, requests)
    await decisions.close()
    return {**percentiles_us(samples), "hit_rate": round(hits / len(requests), 4)}


def run_in_process(params: WorkloadParams) -> dict:
    requests = [parse_evaluate_request(orjson.loads(orjson.dumps(b))) for b in generate(params)]
    base = Settings.from_env({})
    cold = asyncio.run(_measure(Settings(**{**base.__dict__, "cache_enabled": False}), requests, passes=2))
    warm = asyncio.run(_measure(base, requests, passes=2))
    return {"requests": len(requests), "cold": cold, "warm": warm}
