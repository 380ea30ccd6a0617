"""`policy-engine bench`: the benchmark sub-commands."""

import argparse
import sys

import orjson

from policy_engine.bench import engine_bench
from policy_engine.workload.trace import WorkloadParams


def add_workload_arguments(parser: argparse.ArgumentParser, requests: int) -> None:
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=requests)
    parser.add_argument("--novel-share", type=float, default=0.02)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def workload_params(args: argparse.Namespace) -> WorkloadParams:
    return WorkloadParams(seed=args.seed, agents=args.agents, requests=args.requests, novel_share=args.novel_share)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    benches = parser.add_subparsers(dest="bench", required=True)
    engine = benches.add_parser("engine", help="the bridge in process vs. OPA as a server")
    add_workload_arguments(engine, requests=20_000)
    engine_bench.add_arguments(engine)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.bench == "engine":
        result = engine_bench.run_engine_bench(workload_params(args), args.warmup, not args.no_sidecar)
        if args.json:
            sys.stdout.buffer.write(orjson.dumps(result) + b"\n")
        else:
            engine_bench.report(result)
    return 0
