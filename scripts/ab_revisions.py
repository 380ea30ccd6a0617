#!/usr/bin/env python3
"""The in-process decision path of two revisions, side by side in lockstep.

    python scripts/ab_revisions.py --base 5fd4350 [--head WORKTREE] [--mode warm|cold] [--rounds 10]

Each revision runs in its own process (its own source tree and bridge), both pinned to one core.
They take turns: one timed pass over the workload each, in alternating order, so that both see
the same machine from one moment to the next (on a shared VM, speed drifts by up to 2x between
runs seconds apart; a ratio taken pass by pass is steadier than any absolute figure). Each pass
times every request from its body's bytes to its decision fields, as the in-process benchmark
does. Prints, per revision, the median and range of the per-pass p50 and p99, then the medians
and ranges of head/base per round.

`--base` is a git revision: it is checked out into a temporary worktree and its bridge built
there (a minute or two). `--head` is a source tree, by default this checkout.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs inside each revision's tree: loads the service, warms it, then one timed pass per "go".
# Its timed loop is bench/in_process.py's, written out: a revision's own copy of that module
# may time something else (before the exact path, the parse was outside the timer).
WORKER = r"""
import asyncio, dataclasses, os, sys, time, orjson
from policy_engine.bench.stats import percentiles_us
from policy_engine.config import Settings
from policy_engine.http.acgs_endpoints import AcgsEndpoints
from policy_engine.http.acgs_request import parse_evaluate_request
from policy_engine.http.app import build_decisions
from policy_engine.http.ids import decision_id
from policy_engine.metrics import Metrics
from policy_engine.workload.trace import WorkloadParams, generate

def parser():
    try:
        parse_evaluate_request(b'{"action": "data.read"}')
        return parse_evaluate_request
    except Exception:  # revisions before the exact path took the decoded body
        return lambda raw: parse_evaluate_request(orjson.loads(raw))

async def timed(endpoints, bodies, parse):
    samples, hits, clock = [], 0, time.perf_counter_ns
    for body in bodies:
        start = clock()
        outcome = await endpoints.decide(parse(body), decision_id())
        samples.append(clock() - start)
        hits += outcome.cache_hit
    return samples, hits

async def main(requests, cold):
    bodies = [orjson.dumps(b) for b in generate(WorkloadParams(requests=requests))]
    settings = Settings.from_env({})
    if cold:
        settings = dataclasses.replace(settings, cache_enabled=False)
    metrics, parse = Metrics(), parser()
    decisions = await build_decisions(settings, metrics)
    endpoints = AcgsEndpoints(decisions, metrics, settings.query, settings.max_body_bytes)
    await timed(endpoints, bodies, parse)
    await asyncio.sleep(0.5)  # residuals learned in the background are in place
    await timed(endpoints, bodies, parse)
    print("ready", flush=True)
    for _ in sys.stdin:
        samples, hits = await timed(endpoints, bodies, parse)
        p = percentiles_us(samples)
        print(orjson.dumps({"p50": p["p50_us"], "p99": p["p99_us"], "hits": hits}).decode(), flush=True)
    await decisions.close()

asyncio.run(main(int(sys.argv[1]), sys.argv[2] == "cold"))
"""


def checkout(revision: str, into: Path) -> Path:
    tree = into / "base"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), revision], check=True)
    subprocess.run(["make", "-C", str(tree), "build/libopabridge.so"], check=True)
    return tree


def start(tree: Path, args: argparse.Namespace) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    command = ["taskset", "-c", args.cpu, sys.executable, "-c", WORKER, str(args.requests), args.mode]
    worker = subprocess.Popen(command, cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if worker.stdout.readline().strip() != "ready":  # type: ignore[union-attr]
        raise SystemExit(f"the worker of {tree} did not start")
    return worker


def one_pass(worker: subprocess.Popen) -> dict:
    worker.stdin.write("go\n")  # type: ignore[union-attr]
    worker.stdin.flush()  # type: ignore[union-attr]
    return json.loads(worker.stdout.readline())  # type: ignore[union-attr]


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def compare(base: Path, head: Path, args: argparse.Namespace) -> None:
    workers = {"base": start(base, args), "head": start(head, args)}
    passes: dict[str, list[dict]] = {"base": [], "head": []}
    for round_ in range(args.rounds):
        for name in ("base", "head") if round_ % 2 == 0 else ("head", "base"):
            passes[name].append(one_pass(workers[name]))
    for worker in workers.values():
        worker.stdin.close()  # type: ignore[union-attr]
        worker.wait()
    print(f"{args.mode}, {args.requests} requests a pass, {args.rounds} rounds, CPU {args.cpu}; µs per request")
    for name, runs in passes.items():
        p50, p99 = [r["p50"] for r in runs], [r["p99"] for r in runs]
        print(f"  {name}: p50 {spread(p50)}  p99 {spread(p99)}  hits in a pass {runs[-1]['hits']}")
    for q in ("p50", "p99"):
        ratios = [h[q] / b[q] for h, b in zip(passes["head"], passes["base"], strict=True)]
        print(f"  head/base {q}: {spread(ratios)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the git revision to compare with")
    parser.add_argument("--head", type=Path, default=ROOT, help="the source tree measured against it (default: here)")
    parser.add_argument("--mode", choices=("warm", "cold"), default="warm", help="warm: L1 hits; cold: cache off")
    parser.add_argument("--rounds", type=int, default=10, help="timed passes per revision (default 10)")
    parser.add_argument("--requests", type=int, default=10_000, help="workload requests a pass (default 10000)")
    parser.add_argument("--cpu", default="1", help="the core both run on, a taskset list (default 1)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="ab-revisions-"))
    try:
        compare(checkout(args.base, scratch), args.head.resolve(), args)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(scratch / "base")], check=False)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
