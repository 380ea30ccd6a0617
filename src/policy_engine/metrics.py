"""Prometheus metrics with the names dashboards and CI already use (API.md).

The hot path only adds to plain integers (a prometheus_client child costs ~1.2 µs per
update, and a request made eight of them); this collector turns them into metric families
when /metrics is scraped. With several workers, shared_metrics.py copies these numbers to
files that any worker's scrape sums, so nothing here changes on the hot path.

Gauges say how workers' values combine (prometheus_client's multiprocess modes): `livesum`
(a quantity each worker holds: L1 entries, bytes), `livemax` (the worst: a breaker's state),
`livemin` (the oldest: a bundle's last activation). Ratios are derived from the counters
(`DERIVED`), so that with several workers they come from the summed counters.
"""

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

POLICY_NAME = "constitutional"
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class Counter:
    """A counter with labels: label values -> count."""

    def __init__(self, name: str, doc: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.doc, self.labels = name, doc, labels
        self.values: dict[tuple[str, ...], float] = defaultdict(float)

    def inc(self, *label_values: str, n: float = 1) -> None:
        self.values[label_values] += n

    def total(self) -> float:
        return sum(self.values.values())

    def family(self) -> CounterMetricFamily:
        family = CounterMetricFamily(self.name, self.doc, labels=self.labels)
        for label_values, value in sorted(self.values.items()):
            family.add_metric(list(label_values), value)
        return family


class Histogram:
    """A histogram with labels: label values -> per-bucket counts, sum."""

    def __init__(self, name: str, doc: str, labels: tuple[str, ...], buckets: tuple[float, ...]) -> None:
        self.name, self.doc, self.labels, self.buckets = name, doc, labels, buckets
        self.values: dict[tuple[str, ...], list[float]] = {}

    def observe(self, value: float, *label_values: str) -> None:
        counts = self.values.get(label_values)
        if counts is None:
            counts = self.values[label_values] = [0.0] * (len(self.buckets) + 2)
        counts[bisect_left(self.buckets, value)] += 1
        counts[-1] += value

    def family(self) -> HistogramMetricFamily:
        family = HistogramMetricFamily(self.name, self.doc, labels=self.labels)
        for label_values, counts in sorted(self.values.items()):
            cumulative, buckets = 0.0, []
            for bound, count in zip((*self.buckets, float("inf")), counts[:-1], strict=True):
                cumulative += count
                buckets.append((str(bound) if bound != float("inf") else "+Inf", cumulative))
            family.add_metric(list(label_values), buckets, counts[-1])
        return family


class Metrics(Collector):
    def __init__(self) -> None:
        self.evaluations = Counter("policy_evaluations_total", "Decisions made", ("result", "policy_name", "cache_hit"))
        self.duration = Histogram(
            "policy_evaluation_duration_seconds", "Time to decide", ("policy_name", "cache_hit"), LATENCY_BUCKETS
        )
        self.requests = Histogram(
            "http_request_duration_seconds",
            "HTTP latency per endpoint",
            ("endpoint", "method", "status"),
            LATENCY_BUCKETS,
        )
        self.cache_hits = Counter("cache_hits_total", "Decision cache hits", ("tier",))
        self.cache_requests = Counter("cache_requests_total", "Decision cache lookups")
        self.cache_uncacheable = Counter(
            "cache_uncacheable_total", "Decisions of entrypoints that cannot be cached", ("reason",)
        )
        self.l2_errors = Counter("cache_l2_errors_total", "Redis operations that failed or timed out")
        self.shadow_checks = Counter("cache_shadow_checks_total", "Cache hits re-evaluated by shadow mode")
        self.shadow_mismatches = Counter(
            "cache_shadow_mismatches_total", "Shadow re-evaluations that disagreed with the cache"
        )
        self.engine_calls = Counter("engine_calls_total", "Calls into the engine (one per batch)")
        self.batch_size = Histogram("engine_batch_size", "Decisions per engine call", (), BATCH_BUCKETS)
        self.slow_evaluations = Counter(
            "engine_slow_evaluations_total",
            "Evaluations that outlived their event-loop slice (moved to a thread)",
        )
        self.timeouts = Counter("engine_timeouts_total", "Evaluations cancelled at their deadline (--eval-timeout-ms)")
        self.single_flight = Counter(
            "engine_single_flight_total", "Misses that joined an identical in-flight evaluation"
        )
        self.residual = Counter(
            "policy_residual_decisions_total", "Decisions by entrypoint kind (residual or full)", ("kind",)
        )
        self.bundle_loads = Counter(
            "bundle_loads_total", "Bundle loads by result: ok, rejected, fetch_error", ("result",)
        )
        self.counters = [v for v in vars(self).values() if isinstance(v, Counter | Histogram)]
        # (manifest revision, content hash) of the active bundle, when a bundle manager runs.
        self.revision_info: Callable[[], tuple[str, str]] | None = None
        self.gauges: dict[str, tuple[str, Callable[[], float], str]] = {
            "opa_circuit_breaker_state": ("External OPA breaker: 0 closed, 1 open, 2 half-open", lambda: 0, "livemax"),
        }
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def gauge(self, name: str, doc: str, read: Callable[[], float], mode: str = "livesum") -> None:
        """A gauge read at scrape time; `mode` combines workers' values (see the module's doc)."""
        self.gauges[name] = (doc, read, mode)

    def decided(self, allowed: bool, cache_hit: bool, seconds: float) -> None:
        hit = "true" if cache_hit else "false"
        self.evaluations.inc("allow" if allowed else "deny", POLICY_NAME, hit)
        self.duration.observe(seconds, POLICY_NAME, hit)

    def failed(self) -> None:
        self.evaluations.inc("error", POLICY_NAME, "false")

    def counter_totals(self) -> dict[str, dict[tuple[str, ...], float]]:
        """Each counter's values by label values (what the derived gauges read)."""
        return {c.name: dict(c.values) for c in self.counters if isinstance(c, Counter)}

    def collect(self) -> Iterator:
        for metric in self.counters:
            yield metric.family()
        for name, (doc, read, _) in self.gauges.items():
            yield GaugeMetricFamily(name, doc, value=read())
        yield from derived_gauges(self.counter_totals())
        if self.revision_info is not None:
            info = GaugeMetricFamily(
                "bundle_active_revision_info", "The active bundle (always 1)", labels=["revision", "content_hash"]
            )
            info.add_metric(list(self.revision_info()), 1)
            yield info


def _compliance(totals: dict[str, dict[tuple[str, ...], float]]) -> float:
    values = totals.get("policy_evaluations_total", {})
    allowed = sum(v for k, v in values.items() if k[0] == "allow")
    decided = sum(values.values())
    return allowed / decided if decided else 1.0


def _hit_rate(totals: dict[str, dict[tuple[str, ...], float]]) -> float:
    requests = sum(totals.get("cache_requests_total", {}).values())
    return sum(totals.get("cache_hits_total", {}).values()) / requests if requests else 0.0


# Gauges computed from the counters at scrape time (from all workers' counters when there are several).
DERIVED: dict[str, tuple[str, Callable[[dict], float]]] = {
    "constitutional_compliance_rate": ("Share of allowed decisions", _compliance),
    "policy_cache_hit_rate": ("Share of cache lookups that hit (all workers)", _hit_rate),
}


def derived_gauges(totals: dict[str, dict[tuple[str, ...], float]]) -> Iterator[GaugeMetricFamily]:
    for name, (doc, compute) in DERIVED.items():
        yield GaugeMetricFamily(name, doc, value=compute(totals))
