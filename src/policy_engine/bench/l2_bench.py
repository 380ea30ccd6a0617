"""`policy-engine bench l2`: is an L2 (Redis) read on an L1 miss cheaper than evaluating?

Both are timed in one process on the same keys: an awaited read of a present key through the
service's RedisTier (MGET per event-loop tick), and the evaluation the miss would otherwise
make (the residual query, as the service routes it). The service's --l2-read default follows.
"""

import asyncio
import time

import orjson

from policy_engine.bench.redis_server import RedisServer
from policy_engine.bench.stats import percentiles_us
from policy_engine.cache.keys import L2Keys
from policy_engine.cache.l2 import RedisTier
from policy_engine.config import Settings
from policy_engine.decisions import EmbeddedDecisions
from policy_engine.http.acgs_request import opa_input, parse_evaluate_request
from policy_engine.http.app import build_decisions
from policy_engine.metrics import Metrics
from policy_engine.workload.trace import WorkloadParams, generate


async def _compare(params: WorkloadParams, url: str) -> dict:
    decisions = await build_decisions(Settings.from_env({}), Metrics())
    assert isinstance(decisions, EmbeddedDecisions)
    requests = [parse_evaluate_request(orjson.dumps(body)) for body in generate(params)]
    documents = [opa_input(r) for r in requests]
    await decisions.specialise_actions({r.action for r in requests})
    entries = [decisions.route(decisions.engine.entrypoint.query, d) for d in documents]
    l2_keys = L2Keys()
    keys = [l2_keys(e.keys.key(d)) for e, d in zip(entries, documents, strict=True)]
    projected = documents  # a miss evaluates the full input
    l2 = RedisTier(url, ttl=600, timeout=1.0)
    await l2.start()
    for key, entry, doc in zip(keys, entries, projected, strict=True):
        l2.put(key, entry.prepared.evaluate_json(doc) or b"")
    await asyncio.sleep(0.5)  # let the write pipelines land
    clock = time.perf_counter_ns
    reads, evaluations = [], []
    for key, entry, doc in zip(keys, entries, projected, strict=True):
        start = clock()
        await l2.get(key)
        reads.append(clock() - start)
        start = clock()
        entry.prepared.evaluate_json(doc)
        evaluations.append(clock() - start)
    await l2.close()
    await decisions.close()
    read, evaluate = percentiles_us(reads), percentiles_us(evaluations)
    return {
        "requests": len(keys),
        "l2_read": read,
        "evaluate_residual": evaluate,
        "l2_read_cheaper": read["p50_us"] < evaluate["p50_us"],
    }


def run_l2_bench(params: WorkloadParams) -> dict:
    server = RedisServer()
    server.start()
    try:
        return asyncio.run(_compare(params, server.url))
    finally:
        server.stop()
