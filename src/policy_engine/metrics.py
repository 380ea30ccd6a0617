"""Prometheus metrics with the names dashboards and CI already use (API.md).

Label children are bound once here, so that the hot path only increments.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

POLICY_NAME = "constitutional"
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.evaluations = Counter(
            "policy_evaluations_total", "Decisions made", ["result", "policy_name", "cache_hit"], registry=r
        )
        self.duration = Histogram(
            "policy_evaluation_duration_seconds",
            "Time to decide, in the service",
            ["policy_name", "cache_hit"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.requests = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency per endpoint",
            ["endpoint", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.cache_hits = Counter("cache_hits_total", "Decision cache hits", ["tier"], registry=r)
        self.cache_requests = Counter("cache_requests_total", "Decision cache lookups", registry=r)
        self.cache_uncacheable = Counter(
            "cache_uncacheable_total",
            "Decisions of entrypoints that cannot be cached",
            ["reason"],
            registry=r,
        )
        self.l1_entries = Gauge("cache_l1_entries", "Entries in the L1 cache", registry=r)
        self.l1_bytes = Gauge("cache_l1_bytes", "Approximate bytes held by the L1 cache", registry=r)
        self.l2_errors = Counter("cache_l2_errors_total", "Redis operations that failed or timed out", registry=r)
        self.shadow_checks = Counter("cache_shadow_checks_total", "Cache hits re-evaluated by shadow mode", registry=r)
        self.shadow_mismatches = Counter(
            "cache_shadow_mismatches_total", "Shadow re-evaluations that disagreed with the cache", registry=r
        )
        self.engine_calls = Counter("engine_calls_total", "Calls into the engine (one per batch)", registry=r)
        self.batch_size = Histogram(
            "engine_batch_size", "Decisions per engine call", buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=r
        )
        self.single_flight = Counter(
            "engine_single_flight_total", "Misses that joined an identical in-flight evaluation", registry=r
        )
        self.compliance_rate = Gauge("constitutional_compliance_rate", "Share of allowed decisions", registry=r)
        self.cache_hit_rate = Gauge("policy_cache_hit_rate", "Share of decisions served from cache", registry=r)
        self.breaker_state = Gauge(
            "opa_circuit_breaker_state", "External OPA breaker: 0 closed, 1 open, 2 half-open", registry=r
        )
        self._outcomes = {
            (allowed, hit): (
                self.evaluations.labels("allow" if allowed else "deny", POLICY_NAME, str(hit).lower()),
                self.duration.labels(POLICY_NAME, str(hit).lower()),
            )
            for allowed in (True, False)
            for hit in (True, False)
        }
        self._errors = self.evaluations.labels("error", POLICY_NAME, "false")
        self._totals = {"allowed": 0, "decided": 0}
        self.compliance_rate.set_function(self._compliance)
        self.cache_hit_rate.set_function(self._hit_rate)

    def decided(self, allowed: bool, cache_hit: bool, seconds: float) -> None:
        counter, histogram = self._outcomes[(allowed, cache_hit)]
        counter.inc()
        histogram.observe(seconds)
        self._totals["decided"] += 1
        self._totals["allowed"] += allowed

    def failed(self) -> None:
        self._errors.inc()
        self._totals["decided"] += 1

    def _compliance(self) -> float:
        decided = self._totals["decided"]
        return self._totals["allowed"] / decided if decided else 1.0

    def _hit_rate(self) -> float:
        requests = self.cache_requests._value.get()
        hits = sum(child._value.get() for child in self.cache_hits._metrics.values())
        return hits / requests if requests else 0.0
