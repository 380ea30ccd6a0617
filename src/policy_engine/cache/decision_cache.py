"""The two tiers together: L1 first, then (when configured and measured worth it) L2."""

import random

from policy_engine.cache.keys import L2Keys
from policy_engine.cache.l1 import UNDEFINED, L1Cache
from policy_engine.cache.l2 import RedisTier
from policy_engine.metrics import Metrics


class DecisionCache:
    def __init__(
        self,
        l1: L1Cache,
        l2: RedisTier | None,
        l2_read: bool,
        metrics: Metrics,
        shadow_rate: float,
        l2_keys: L2Keys | None = None,
    ) -> None:
        self.l1 = l1
        self.l2 = l2
        self.l2_read = l2_read and l2 is not None
        self.l2_keys = l2_keys or L2Keys()
        self.metrics = metrics
        self.shadow_rate = shadow_rate
        metrics.gauge("cache_l1_entries", "Entries in the L1 cache", lambda: len(l1))
        metrics.gauge("cache_l1_bytes", "Approximate bytes held by the L1 cache", lambda: l1.bytes)

    def l1_hit(self, key: bytes) -> bytes | None:
        """The L1 entry (UNDEFINED for a cached undefined), or None; counted. Not a coroutine:
        a hit costs no await."""
        self.metrics.cache_requests.inc()
        value = self.l1.get(key)
        if value is not None:
            self.metrics.cache_hits.inc("l1")
            self._count("hits", "l1_hits")
        return value

    async def l2_hit(self, key: bytes) -> bytes | None:
        """After an L1 miss: the L2 entry, promoted to L1, or None (a miss of both); counted."""
        if self.l2_read:
            value = await self.l2.get(self.l2_keys(key))  # type: ignore[union-attr]
            if value is not None:
                self.metrics.cache_hits.inc("l2")
                self._count("hits", "l2_hits")
                self.l1.put(key, value)  # promotion
                return value
        self._count("misses")
        return None

    def put(self, key: bytes, result: bytes | None) -> None:
        value = UNDEFINED if result is None else result
        self.l1.put(key, value)
        if self.l2 is not None:
            self.l2.put(self.l2_keys(key), value)

    def should_shadow(self) -> bool:
        return self.shadow_rate > 0 and (self.shadow_rate >= 1 or random.random() < self.shadow_rate)

    def shadow_result(self, key: bytes, cached: bytes, fresh: bytes | None) -> bytes | None:
        """Counts a hit re-evaluated on the full input; on a mismatch the fresh result replaces
        the cached one, and is what the request gets. Both are the bridge's bytes: compared whole."""
        self.metrics.shadow_checks.inc()
        if (UNDEFINED if fresh is None else fresh) == cached:
            return fresh
        self.metrics.shadow_mismatches.inc()
        self.put(key, fresh)
        return fresh

    def clear(self) -> None:
        self.l1.clear()

    def _count(self, *fields: str) -> None:
        if self.l2 is not None:
            for field in fields:
                self.l2.count(field)
