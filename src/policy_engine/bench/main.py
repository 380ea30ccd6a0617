"""`policy-engine bench`: the benchmark sub-commands."""

import argparse
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

from policy_engine.bench import engine_bench
from policy_engine.workload.files import write_jsonl
from policy_engine.workload.trace import WorkloadParams, generate


def add_workload_arguments(parser: argparse.ArgumentParser, requests: int) -> None:
    parser.add_argument("--seed", type=int, default=42, help="the workload's random seed (default 42)")
    parser.add_argument("--agents", type=int, default=1000, help="distinct agents in the workload (default 1000)")
    parser.add_argument("--requests", type=int, default=requests, help=f"requests in the workload (default {requests})")
    parser.add_argument(
        "--novel-share", type=float, default=0.02, help="share of requests never seen before (default 0.02)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def workload_params(args: argparse.Namespace) -> WorkloadParams:
    return WorkloadParams(seed=args.seed, agents=args.agents, requests=args.requests, novel_share=args.novel_share)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    benches = parser.add_subparsers(dest="bench", required=True)
    engine = benches.add_parser("engine", help="the bridge in process vs. OPA as a server")
    add_workload_arguments(engine, requests=20_000)
    engine_bench.add_arguments(engine)

    suite = benches.add_parser("suite", help="in process and HTTP, the three modes side by side")
    add_workload_arguments(suite, requests=150_000)
    suite.add_argument("--quick", action="store_true", help="short runs: finishes in under 2 minutes")
    suite.add_argument("--rates", type=lambda s: [int(r) for r in s.split(",")], help="offered rates, req/s")
    suite.add_argument("--seconds", type=float, help="duration of each load run")
    suite.add_argument("--repeats", type=int, help="runs per rate (medians are quoted)")
    suite.add_argument("--modes", type=lambda s: tuple(s.split(",")), help="legacy,opa-server,embedded")
    suite.add_argument("--out", type=Path, help="also write the JSON result here")
    suite.add_argument("--workers", type=int, help="service worker processes")
    suite.add_argument("--server-cpus", help="taskset CPU list of the system under test (default 0)")
    suite.add_argument("--load-cpus", help="taskset CPU list of the load generator (default 1)")

    cache = benches.add_parser("cache", help="hit rate on the workload next to the ceiling it allows")
    add_workload_arguments(cache, requests=1_000_000)
    cache.add_argument("--shadow-rate", type=float, default=1.0, help="share of hits re-evaluated")
    cache.add_argument(
        "--no-partial-eval", dest="partial_eval", action="store_false", help="evaluate the whole policy, no residuals"
    )

    everything = benches.add_parser("all", help="every benchmark; writes the JSON, BENCHMARKS.md and plots")
    add_workload_arguments(everything, requests=150_000)
    everything.add_argument("--quick", action="store_true", help="short runs (a smoke test, not figures to quote)")
    everything.add_argument(
        "--out", type=Path, default=Path("bench-results/results.json"), help="the JSON result (default %(default)s)"
    )
    everything.add_argument(
        "--report", type=Path, default=Path("BENCHMARKS.md"), help="the report written (default %(default)s)"
    )
    everything.add_argument("--plots", type=Path, default=Path("docs/bench"), help="plots folder (default %(default)s)")
    everything.add_argument(
        "--cache-requests", type=int, default=1_000_000, help="requests of the cache benchmark (default 1000000)"
    )

    l2 = benches.add_parser("l2", help="an L2 (Redis) read against the evaluation it would save")
    add_workload_arguments(l2, requests=5000)

    report = benches.add_parser("report", help="rewrite BENCHMARKS.md and the plots from a saved `bench all` JSON")
    report.add_argument(
        "--results", type=Path, default=Path("bench-results/results.json"), help="the saved JSON (default %(default)s)"
    )
    report.add_argument("--report", type=Path, default=Path("BENCHMARKS.md"), help="written (default %(default)s)")
    report.add_argument("--plots", type=Path, default=Path("docs/bench"), help="plots folder (default %(default)s)")

    trace = benches.add_parser("trace", help="write the workload trace (JSON lines of API request bodies)")
    add_workload_arguments(trace, requests=100_000)
    trace.add_argument("--out", type=Path, required=True, help="the JSON lines file written")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.bench == "engine":
        result = engine_bench.run_engine_bench(workload_params(args), args.warmup, not args.no_sidecar)
        _emit(result, args.json, engine_bench.report)
    elif args.bench == "suite":
        from policy_engine.bench.suite import report, run_suite

        result = run_suite(args)
        if args.out:
            args.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        _emit(result, args.json, report)
    elif args.bench == "cache":
        from policy_engine.bench.cache_bench import run_cache_bench

        result = run_cache_bench(workload_params(args), args.shadow_rate, args.partial_eval)
        _emit(result, args.json, lambda r: print(orjson.dumps(r, option=orjson.OPT_INDENT_2).decode()))
    elif args.bench == "all":
        from policy_engine.bench.everything import run_all

        run_all(args)
    elif args.bench == "l2":
        from policy_engine.bench.l2_bench import run_l2_bench

        result = run_l2_bench(workload_params(args))
        _emit(result, args.json, lambda r: print(orjson.dumps(r, option=orjson.OPT_INDENT_2).decode()))
    elif args.bench == "report":
        from policy_engine.bench.report import write_report

        write_report(orjson.loads(args.results.read_bytes()), args.report, args.plots, "make bench")
    elif args.bench == "trace":
        count = write_jsonl(generate(workload_params(args)), args.out)
        print(f"wrote {count} requests to {args.out}", file=sys.stderr)
    return 0


def _emit(result: dict, as_json: bool, report) -> None:
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(result) + b"\n")
    else:
        report(result)


def environment() -> dict:
    from policy_engine.bench.stats import machine

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "python": platform.python_version(),
    }
