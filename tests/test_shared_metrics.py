"""Metrics across workers: one scrape sums every worker, counters never go backwards."""

import asyncio
import itertools
import os
import subprocess

import httpx
import orjson
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from policy_engine.metrics import Metrics
from policy_engine.shared_metrics import AllWorkers, WorkerFiles, shared_metrics_dir
from tests.support.service import running_service


def samples(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append(s)
    return out


def total(text: str, name: str) -> float:
    return sum(s.value for s in samples(text).get(name, []))


def scrape(files: WorkerFiles) -> str:
    registry = CollectorRegistry()
    registry.register(AllWorkers(files))
    return generate_latest(registry).decode()


def a_dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_scrape_sums_the_workers_counters_and_histograms(tmp_path):
    one, two = Metrics(), Metrics()
    one.decided(True, True, 0.0003)
    two.decided(True, True, 0.0003)
    two.decided(False, False, 0.002)
    two.cache_hits.inc("l1", n=3)
    two.cache_requests.inc(n=4)
    WorkerFiles(two, str(tmp_path), pid=a_dead_pid()).flush()
    text = scrape(WorkerFiles(one, str(tmp_path)))
    assert total(text, "policy_evaluations_total") == 3
    found = samples(text)
    assert [s.value for s in found["policy_evaluation_duration_seconds_count"]] in ([2, 1], [1, 2])
    assert next(s.value for s in found["policy_cache_hit_rate"]) == 0.75  # computed from the summed counters
    assert next(s.value for s in found["constitutional_compliance_rate"]) == 2 / 3


def test_gauges_combine_by_their_mode_and_a_dead_workers_live_gauges_go(tmp_path):
    alive, dead = Metrics(), Metrics()
    alive.gauge("cache_l1_entries", "entries", lambda: 5)
    dead.gauge("cache_l1_entries", "entries", lambda: 7)
    alive.gauge("bundle_last_success_timestamp_seconds", "t", lambda: 200, mode="livemin")
    dead.gauge("bundle_last_success_timestamp_seconds", "t", lambda: 100, mode="livemin")
    dead.evaluations.inc("allow", "constitutional", "false", n=10)
    dead_files = WorkerFiles(dead, str(tmp_path), pid=a_dead_pid())
    dead_files.flush()
    text = scrape(WorkerFiles(alive, str(tmp_path)))
    assert total(text, "cache_l1_entries") == 5  # the dead worker's 7 entries are gone with it
    assert total(text, "bundle_last_success_timestamp_seconds") == 200
    assert total(text, "policy_evaluations_total") == 10  # what it counted stays counted
    assert not os.path.exists(tmp_path / f"gauge_livesum_{dead_files.pid}.db")


def test_the_revision_info_shows_only_active_revisions(tmp_path):
    metrics = Metrics()
    revision = ["r1", "hash1"]
    metrics.revision_info = lambda: tuple(revision)
    files = WorkerFiles(metrics, str(tmp_path))
    files.flush()
    revision[:] = ["r2", "hash2"]
    info = samples(scrape(files))["bundle_active_revision_info"]
    assert [(s.labels["revision"], s.value) for s in info] == [("r2", 1)]


def test_each_live_worker_has_its_process_metrics(tmp_path):
    text = scrape(WorkerFiles(Metrics(), str(tmp_path)))
    cpu = samples(text)["process_cpu_seconds_total"]
    assert [s.labels["pid"] for s in cpu] == [str(os.getpid())]


def test_the_directory_exists_only_for_several_workers_and_is_removed_after():
    with shared_metrics_dir(1) as none:
        assert none is None and "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    with shared_metrics_dir(2) as path:
        assert path is not None and os.path.isdir(path)
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == path
    assert not os.path.exists(path)
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


REQUESTS, SCRAPES = 3000, 50
BODY = orjson.dumps({"agent_id": "a", "action": "data.read", "resource": "r", "context": {"trust_level": 0.9}})


async def load_and_scrape(url: str) -> tuple[list[float], float, str]:
    """REQUESTS decisions on 32 connections while SCRAPES scrapes read the summed counter; then
    the final sum, once the workers have flushed."""
    limits = httpx.Limits(max_connections=40, max_keepalive_connections=40)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        queue = iter(range(REQUESTS))
        sums: list[float] = []

        async def send() -> None:
            for _ in queue:
                assert (await client.post("/v1/evaluate", content=BODY)).status_code == 200

        async def scrapes() -> None:
            for _ in range(SCRAPES):
                sums.append(total((await client.get("/metrics")).text, "policy_evaluations_total"))
                await asyncio.sleep(0.03)

        await asyncio.gather(scrapes(), *(send() for _ in range(32)))
        for _ in range(100):  # each worker flushes once a second
            text = (await client.get("/metrics")).text
            if total(text, "policy_evaluations_total") >= REQUESTS:
                break
            await asyncio.sleep(0.1)
        return sums, total(text, "policy_evaluations_total"), text


def test_two_workers_under_load_counters_never_go_back_and_end_at_the_requests_sent():
    with running_service("--workers", "2") as url:
        sums, final, text = asyncio.run(load_and_scrape(url))
    assert len(sums) == SCRAPES
    assert all(a <= b for a, b in itertools.pairwise(sums)), sums
    assert final == REQUESTS
    assert len({s.labels["pid"] for s in samples(text)["process_cpu_seconds_total"]}) == 2
    hit_rate = next(s.value for s in samples(text)["policy_cache_hit_rate"])
    assert hit_rate == total(text, "cache_hits_total") / total(text, "cache_requests_total")
