"""`policy-engine bench suite`: every figure the project quotes, in one run."""

import argparse
import dataclasses

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from policy_engine.bench.http_bench import HttpPlan, run_http
from policy_engine.bench.in_process import run_in_process
from policy_engine.bench.main import environment, workload_params
from policy_engine.engine.bridge import load_bridge
from policy_engine.workload.trace import WorkloadParams

QUICK = HttpPlan(rates=[1000, 5000, 10000], seconds=3, repeats=1, warmup_seconds=1)


def plan_from(args: argparse.Namespace) -> HttpPlan:
    plan = QUICK if args.quick else HttpPlan()
    overrides = {
        "rates": args.rates,
        "seconds": args.seconds,
        "repeats": args.repeats,
        "modes": args.modes,
        "workers": args.workers,
        "server_cpus": args.server_cpus,
        "load_cpus": args.load_cpus,
    }
    return dataclasses.replace(plan, **{k: v for k, v in overrides.items() if v is not None})


def run_suite(args: argparse.Namespace) -> dict:
    params = workload_params(args)
    plan = plan_from(args)
    if args.quick:
        params = dataclasses.replace(params, requests=min(params.requests, 40_000))
    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("in process: cold and warm", total=None)
        in_process = run_in_process(dataclasses.replace(params, requests=10_000))
        http = run_http(params, plan, lambda step: bar.update(task, description=step))
    return {
        **environment(),
        "versions": load_bridge().version(),
        "workload": dataclasses.asdict(params),
        "in_process": in_process,
        **http,
    }


def report(result: dict) -> None:
    console = Console()
    workload: WorkloadParams = result["workload"]
    console.print(f"{result['date']}  {result['machine']}  OPA {result['versions']['opa']}  workload {workload}")
    table = Table(title="In process (the service's evaluation function, no HTTP), µs")
    for column in ("", "p50", "p95", "p99", "p99.9", "hit rate"):
        table.add_column(column, justify="right")
    for name in ("cold", "warm"):
        f = result["in_process"][name]
        table.add_row(name, *(str(f[k]) for k in ("p50_us", "p95_us", "p99_us", "p999_us", "hit_rate")))
    console.print(table)
    plan = result["plan"]
    title = f"HTTP, {plan['workers']} worker(s) on CPUs {plan['server_cpus']}, load on CPUs {plan['load_cpus']}"
    table = Table(title=f"{title} (medians; p99 min-max)")
    for column in (
        "mode",
        "offered",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "p99 range",
        "p99.9 ms",
        "errors",
        "CPU s/10k",
    ):
        table.add_column(column, justify="right")
    for mode, figures in result["modes"].items():
        for rate, f in figures.items():
            if isinstance(f, dict):
                # Medians of an even number of runs are means of two: round them for reading.
                table.add_row(
                    mode,
                    rate,
                    f"{f['rps']:.0f}",
                    *(f"{f[k]:.3f}" for k in ("p50_ms", "p95_ms", "p99_ms")),
                    f"{f['p99_ms_range'][0]:.3f}-{f['p99_ms_range'][1]:.3f}",
                    f"{f['p999_ms']:.3f}",
                    str(f["errors"]),
                    f"{f['cpu_s_per_10k']:.3f}",
                )
        extra = f"peak RSS {figures['server_peak_rss_mb']} MB"
        if figures.get("cache_hit_rate") is not None:
            extra += f", cache hit rate {figures['cache_hit_rate']}"
        table.add_row(mode, extra)
    console.print(table)
