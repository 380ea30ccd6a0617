"""`policy-engine bench cache`: the hit rate on the reference workload, next to its ceiling.

The ceiling is what the trace allows: 1 - distinct decision keys / requests (every first
sight of a key is an unavoidable miss). Shadow mode re-evaluates a share of the hits and
counts any hit that differs from a fresh evaluation.
"""

import asyncio
import dataclasses
import time

import orjson

from policy_engine.config import Settings
from policy_engine.decisions import EmbeddedDecisions
from policy_engine.http.acgs_request import opa_input, parse_evaluate_request
from policy_engine.http.app import build_decisions
from policy_engine.metrics import Metrics
from policy_engine.workload.trace import WorkloadParams, generate


async def _replay(params: WorkloadParams, settings: Settings) -> dict:
    metrics = Metrics()
    decisions = await build_decisions(settings, metrics)
    assert isinstance(decisions, EmbeddedDecisions)
    distinct: set[bytes] = set()
    started = time.monotonic()
    for body in generate(params):
        request = parse_evaluate_request(orjson.dumps(body))
        document = opa_input(request)
        distinct.add(decisions.key_for(settings.query, document))
        await decisions.decide(settings.query, document, request.action)
    requests = metrics.cache_requests.total()
    hits = metrics.cache_hits.total()
    await decisions.close()
    return {
        "workload": dataclasses.asdict(params),
        "requests": int(requests),
        "hits": int(hits),
        "hit_rate": round(hits / requests, 5),
        "distinct_keys": len(distinct),
        "ceiling": round(1 - len(distinct) / requests, 5),
        "shadow_rate": settings.shadow_rate,
        "shadow_checks": int(metrics.shadow_checks.total()),
        "shadow_mismatches": int(metrics.shadow_mismatches.total()),
        "residual_share": _residual_share(metrics),
        "seconds": round(time.monotonic() - started, 1),
    }


def _residual_share(metrics: Metrics) -> float | None:
    values = metrics.residual.values
    total = sum(values.values())
    return round(values.get(("residual",), 0) / total, 4) if total else None


def run_cache_bench(params: WorkloadParams, shadow_rate: float, partial_eval: bool) -> dict:
    base = Settings.from_env({})
    settings = dataclasses.replace(
        base, shadow_rate=shadow_rate, partial_eval=partial_eval, l1_max_entries=1_000_000, cache_ttl=86_400
    )
    return asyncio.run(_replay(params, settings))
