"""HTTP benchmarks: the old way, OPA alone and the new engine, in one run, on one machine.

The system under test is pinned to one core and the load generator to the other. Each
offered rate runs `repeats` times; figures are medians, with the min-max of p99 and rate.
"""

import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from policy_engine.bench import load_tools
from policy_engine.bench.servers import cpu_seconds, system_under_test
from policy_engine.bench.stats import peak_rss_mb
from policy_engine.workload.files import as_opa_request, read_jsonl, write_jsonl, write_vegeta_targets
from policy_engine.workload.trace import WorkloadParams, generate

MODES = ("legacy", "opa-server", "embedded")
ALL_MODES = ("floor", *MODES, "embedded-no-batch", "embedded-no-pe")


@dataclass
class HttpPlan:
    rates: list[int] = field(default_factory=lambda: [1000, 5000, 10000, 15000])
    seconds: float = 10.0
    repeats: int = 3
    connections: int = 32
    warmup_seconds: float = 3.0
    server_cpus: str = "0"
    load_cpus: str = "1"
    workers: int = 1
    modes: tuple[str, ...] = MODES


def _median_run(runs: list[dict]) -> dict:
    merged = {k: statistics.median(r[k] for r in runs) for k in runs[0] if isinstance(runs[0][k], int | float)}
    merged["offered"] = runs[0]["offered"]
    merged["repeats"] = len(runs)
    merged["quantiles_ms"] = runs[len(runs) // 2].get("quantiles_ms", {})
    merged["p99_ms_range"] = [min(r["p99_ms"] for r in runs), max(r["p99_ms"] for r in runs)]
    merged["rps_range"] = [min(r["rps"] for r in runs), max(r["rps"] for r in runs)]
    merged["errors"] = sum(r["errors"] for r in runs)
    return merged


def _with_cpu(pids: list[int], run: Callable[[], dict]) -> dict:
    before = cpu_seconds(pids)
    figures = run()
    used = cpu_seconds(pids) - before
    figures["cpu_s_per_10k"] = round(used / max(1, figures["requests"]) * 10_000, 3)
    return figures


def _hit_rate(service_url: str) -> float | None:
    with urllib.request.urlopen(service_url + "/metrics", timeout=10) as response:  # stdlib: no dev extras
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith(("cache_hits_total{", "cache_requests_total ")):
            values[line.split(" ")[0]] = float(line.split(" ")[1])
    requests = values.get("cache_requests_total", 0)
    hits = sum(v for k, v in values.items() if k.startswith("cache_hits_total"))
    return round(hits / requests, 4) if requests else None


def _repeated(plan: HttpPlan, pids: list[int], label: str, on_step: Callable[[str], None], load) -> dict:
    """`plan.repeats` runs of one load, with the server's CPU time each; their medians."""
    runs = []
    for n in range(plan.repeats):
        on_step(f"{label}, run {n + 1}/{plan.repeats}")
        runs.append(_with_cpu(pids, load))
    return _median_run(runs)


def run_mode(mode: str, plan: HttpPlan, acgs: Path, opa: Path, work: Path, on_step: Callable[[str], None]) -> dict:
    trace = opa if mode == "opa-server" else acgs
    with system_under_test(mode, plan.server_cpus, plan.workers) as (service, url):
        targets = work / f"{mode}.targets"
        write_vegeta_targets(url, read_jsonl(trace), targets)
        on_step(f"{mode}: warm-up")
        load_tools.vegeta(targets, 1000, plan.warmup_seconds, plan.load_cpus)
        figures: dict = {}
        for rate in plan.rates:
            figures[str(rate)] = _repeated(
                plan,
                service.pids,
                f"{mode}: {rate} req/s",
                on_step,
                lambda r=rate: load_tools.vegeta(targets, r, plan.seconds, plan.load_cpus),
            )
        figures["max"] = _repeated(
            plan,
            service.pids,
            f"{mode}: closed-loop maximum",
            on_step,
            lambda: load_tools.wrk(url, trace, plan.seconds, plan.connections, plan.load_cpus),
        )
        figures["server_peak_rss_mb"] = round(sum(peak_rss_mb(pid) for pid in service.pids), 1)
        if mode.startswith("embedded"):
            figures["cache_hit_rate"] = _hit_rate(service.url)
    return figures


def run_http(params: WorkloadParams, plan: HttpPlan, on_step: Callable[[str], None]) -> dict:
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        acgs, opa = work / "acgs.jsonl", work / "opa.jsonl"
        write_jsonl(generate(params), acgs)
        opa.write_bytes(b"\n".join(as_opa_request(line) for line in read_jsonl(acgs)) + b"\n")
        modes = {mode: run_mode(mode, plan, acgs, opa, work, on_step) for mode in plan.modes}
    return {"modes": modes, "plan": plan.__dict__, "seconds": round(time.time() - started)}
