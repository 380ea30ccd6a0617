"""`policy-engine bench all`: every benchmark in one run, then the report."""

import argparse
import dataclasses
import sys

import orjson
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from policy_engine.bench.cache_bench import run_cache_bench
from policy_engine.bench.engine_bench import run_engine_bench
from policy_engine.bench.http_bench import ALL_MODES, HttpPlan, run_http
from policy_engine.bench.in_process import run_in_process
from policy_engine.bench.l2_bench import run_l2_bench
from policy_engine.bench.main import environment, workload_params
from policy_engine.bench.report import write_report
from policy_engine.engine.bridge import load_bridge

FULL = HttpPlan(rates=[1000, 5000, 10000, 15000], seconds=5, repeats=3, warmup_seconds=3, modes=ALL_MODES)
QUICK = HttpPlan(rates=[1000, 5000, 10000], seconds=2, repeats=1, warmup_seconds=1, modes=ALL_MODES)


def run_all(args: argparse.Namespace) -> None:
    params = workload_params(args)
    plan = QUICK if args.quick else FULL
    cache_requests = 50_000 if args.quick else args.cache_requests
    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("engine: bridge vs OPA server", total=None)
        engine = run_engine_bench(dataclasses.replace(params, requests=20_000), warmup=2000, sidecar=True)
        bar.update(task, description="in process: cold, cold without residuals, warm")
        in_process = run_in_process(dataclasses.replace(params, requests=10_000), repeats=1 if args.quick else 3)
        cache = {}
        for label, partial_eval, shadow in (("on", True, 1.0), ("off", False, 0.1)):
            bar.update(task, description=f"cache: {cache_requests} requests, residuals {label}")
            cache[label] = run_cache_bench(dataclasses.replace(params, requests=cache_requests), shadow, partial_eval)
        bar.update(task, description="L2 read vs evaluation")
        l2 = run_l2_bench(dataclasses.replace(params, requests=2000 if args.quick else 5000))
        http = run_http(params, plan, lambda step: bar.update(task, description=step))
    result = {
        **environment(),
        "versions": load_bridge().version(),
        "workload": dataclasses.asdict(params),
        "engine": engine,
        "in_process": in_process,
        "cache": cache,
        "l2": l2,
        **http,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    command = "make bench" if not args.quick else "policy-engine bench all --quick"
    write_report(result, args.report, args.plots, command)
    print(f"wrote {args.out}, {args.report} and plots in {args.plots}", file=sys.stderr)
