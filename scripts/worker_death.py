#!/usr/bin/env python3
"""What a worker's death costs: `serve --workers 2` under a steady request rate, one worker
killed with SIGKILL half-way; counts the requests that failed (and how) and how long the
supervisor took to have a replacement serving.

    python scripts/worker_death.py [--rate 1000] [--seconds 10] [--runs 1] [--connections 64]

The load is open-loop (requests are started on schedule, whatever the answers) over keep-alive
connections, as a load balancer's. The replacement's times: when its process appears (a
thread polls /proc) and when it is ready (the time the new worker's own log line says).
"""

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import aiohttp

from policy_engine.bench.opa_server import free_port, wait_for_http

BODY = b'{"action": "data.read", "context": {"agent": {"trust_level": 0.9}}}'


@dataclass
class Log:
    """The server's log lines, each with the monotonic time it was read."""

    lines: list[tuple[float, str]] = field(default_factory=list)

    def follow(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in iter(stream.readline, b""):
            self.lines.append((time.monotonic(), line.decode(errors="replace").rstrip()))

    def ready_after(self, after: float) -> float | None:
        """The UNIX time a worker logged that it is ready, the first time after `after`."""
        for _, line in self.lines:
            found = re.match(r"(\S+ \S+) INFO policy_engine policy engine ready", line)
            if found:
                at = datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
                if at >= after:
                    return at
        return None


def watch_for_a_new_worker(parent: int, known: set[int], appeared: list[float]) -> None:
    """Appends the UNIX time a worker not in `known` appears."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if set(workers(parent)) - known:
            appeared.append(time.time())
            return
        time.sleep(0.01)


@dataclass
class Outcomes:
    ok: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    failed_at: list[float] = field(default_factory=list)
    slowest_ms: float = 0.0
    killed_at: float = 0.0  # monotonic
    killed_wall: float = 0.0  # UNIX time


async def one(session: aiohttp.ClientSession, url: str, outcomes: Outcomes) -> None:
    started = time.monotonic()
    try:
        async with session.post(url, data=BODY, headers={"content-type": "application/json"}) as response:
            await response.read()
            if response.status == 200:
                outcomes.ok += 1
            else:
                outcomes.failed[f"HTTP {response.status}"] += 1
                outcomes.failed_at.append(started)
    except (TimeoutError, aiohttp.ClientError) as exc:
        outcomes.failed[type(exc).__name__] += 1
        outcomes.failed_at.append(started)
    outcomes.slowest_ms = max(outcomes.slowest_ms, (time.monotonic() - started) * 1000)


async def load(url: str, rate: int, seconds: float, connections: int, kill_at: float, victim: int) -> Outcomes:
    outcomes, tasks = Outcomes(), []
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start, killed = time.monotonic(), False
        for i in range(int(rate * seconds)):
            due = start + i / rate
            if not killed and due - start >= kill_at:
                os.kill(victim, signal.SIGKILL)
                killed, outcomes.killed_at, outcomes.killed_wall = True, time.monotonic(), time.time()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(one(session, url, outcomes)))
        await asyncio.gather(*tasks)
    return outcomes


def workers(parent: int) -> list[int]:
    """The server's workers: its children but multiprocessing's resource tracker."""
    with open(f"/proc/{parent}/task/{parent}/children") as found:
        children = [int(p) for p in found.read().split()]
    return [p for p in children if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]


def run_once(rate: int, seconds: float, connections: int) -> dict:
    port = free_port()
    cmd = [sys.executable, "-m", "policy_engine.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PE_")}, "LOG_LEVEL": "info"}
    server = subprocess.Popen([*cmd, "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log = Log()
    threading.Thread(target=log.follow, args=(server.stderr,), daemon=True).start()
    try:
        wait_for_http(port, "/ready", timeout=60, proc=server)
        time.sleep(2)  # both workers up (one answering /ready is not both)
        first = workers(server.pid)
        appeared: list[float] = []
        watch = threading.Thread(target=watch_for_a_new_worker, args=(server.pid, set(first), appeared), daemon=True)
        watch.start()
        url = f"http://127.0.0.1:{port}/v1/evaluate"
        outcomes = asyncio.run(load(url, rate, seconds, connections, seconds / 2, first[0]))
        killed_at = outcomes.killed_at
        watch.join(60)
        time.sleep(1)  # its log line read
        serving = log.ready_after(outcomes.killed_wall)
        failures_after = [round((t - killed_at) * 1000) for t in outcomes.failed_at]
        return {
            "requests": outcomes.ok + sum(outcomes.failed.values()),
            "failed": dict(outcomes.failed),
            "failed_ms_after_kill": (min(failures_after), max(failures_after)) if failures_after else None,
            "replacement_started_s": round(appeared[0] - outcomes.killed_wall, 2) if appeared else None,
            "replacement_ready_s": round(serving - outcomes.killed_wall, 2) if serving else None,
            "slowest_ms": round(outcomes.slowest_ms, 1),
            "workers_after": len(workers(server.pid)),
        }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=1000, help="requests per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections at most")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    for run in range(1, args.runs + 1):
        print(f"run {run}: {run_once(args.rate, args.seconds, args.connections)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
