"""One process's metrics: what a scrape shows with a single worker."""

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from policy_engine.metrics import Metrics
from policy_engine.shared_metrics import scrape_registry


def scraped(metrics: Metrics, monkeypatch) -> dict[str, list]:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    registry, files = scrape_registry(metrics)
    assert files is None  # one process: nothing is written anywhere
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out.setdefault(s.name, []).append(s)
    return out


def test_one_process_has_its_process_metrics_without_labels(monkeypatch):
    found = scraped(Metrics(), monkeypatch)
    assert [s.labels for s in found["process_cpu_seconds_total"]] == [{}]
    assert found["process_resident_memory_bytes"][0].value > 0


def test_the_ratios_are_derived_from_the_counters(monkeypatch):
    metrics = Metrics()
    metrics.decided(True, True, 0.001)
    metrics.decided(False, False, 0.001)
    metrics.failed()
    metrics.cache_hits.inc("l1")
    metrics.cache_requests.inc(n=4)
    found = scraped(metrics, monkeypatch)
    assert found["constitutional_compliance_rate"][0].value == 1 / 3
    assert found["policy_cache_hit_rate"][0].value == 0.25


def test_a_gauge_read_at_scrape_time(monkeypatch):
    metrics = Metrics()
    entries = [3]
    metrics.gauge("cache_l1_entries", "Entries in the L1 cache", lambda: entries[0])
    entries[0] = 5
    assert scraped(metrics, monkeypatch)["cache_l1_entries"][0].value == 5
