"""The two tiers together: L1 first, then (when configured and measured worth it) L2."""

import random

import orjson

from policy_engine.cache.l1 import UNDEFINED, L1Cache
from policy_engine.cache.l2 import RedisTier
from policy_engine.metrics import Metrics


class DecisionCache:
    def __init__(self, l1: L1Cache, l2: RedisTier | None, l2_read: bool, metrics: Metrics, shadow_rate: float) -> None:
        self.l1 = l1
        self.l2 = l2
        self.l2_read = l2_read and l2 is not None
        self.metrics = metrics
        self.shadow_rate = shadow_rate
        metrics.gauge("cache_l1_entries", "Entries in the L1 cache", lambda: len(l1))
        metrics.gauge("cache_l1_bytes", "Approximate bytes held by the L1 cache", lambda: l1.bytes)

    async def get(self, key: str) -> bytes | None:
        """The cached result (UNDEFINED for a cached undefined), or None on a miss."""
        self.metrics.cache_requests.inc()
        value = self.l1.get(key)
        if value is not None:
            self.metrics.cache_hits.inc("l1")
            self._count("hits", "l1_hits")
            return value
        if self.l2_read:
            value = await self.l2.get(key)  # type: ignore[union-attr]
            if value is not None:
                self.metrics.cache_hits.inc("l2")
                self._count("hits", "l2_hits")
                self.l1.put(key, value)  # promotion
                return value
        self._count("misses")
        return None

    def put(self, key: str, result: bytes | None) -> None:
        value = UNDEFINED if result is None else result
        self.l1.put(key, value)
        if self.l2 is not None:
            self.l2.put(key, value)

    def should_shadow(self) -> bool:
        return self.shadow_rate > 0 and (self.shadow_rate >= 1 or random.random() < self.shadow_rate)

    def shadow_result(self, cached: bytes, fresh: bytes | None) -> None:
        """Counts a re-evaluated hit, and a mismatch if the cache was wrong."""
        self.metrics.shadow_checks.inc()
        if _decoded(fresh) != _decoded(None if cached == UNDEFINED else cached):
            self.metrics.shadow_mismatches.inc()

    def clear(self) -> None:
        self.l1.clear()

    def _count(self, *fields: str) -> None:
        if self.l2 is not None:
            for field in fields:
                self.l2.count(field)


def _decoded(result: bytes | None) -> object:
    # Compared decoded: a batch and a single call may format the same number differently.
    return None if result is None else orjson.loads(result)
