"""Native load generators: vegeta (open loop, constant rate) and wrk (closed loop, maximum).

Both run pinned to their own core with taskset, apart from the server's.
"""

import csv
import io
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from policy_engine.bench.opa_server import pinned
from policy_engine.bench.stats import nearest_rank
from policy_engine.bundle.locate import REPO_ROOT

WRK_REPLAY = r"""
local bodies = {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  i = (tonumber(args[2]) or 0) % #bodies
end
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("PE_RESULT %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    e.status + e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency:percentile(99.9)))
end
"""


def tool(name: str) -> str:
    local = REPO_ROOT / ".tools" / "bin" / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: run `make setup` and scripts/install-system-deps.sh")
    return found


MAX_CONNECTIONS = 512
QUANTILES = (0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999)


def vegeta(targets: Path, rate: int, seconds: float, cpus: str) -> dict:
    """Open loop at `rate` req/s: latency percentiles (ms), achieved rate, errors."""
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.bin"
        attack = [tool("vegeta"), "attack", "-format=json", f"-targets={targets}", f"-rate={rate}/s"]
        attack += [f"-duration={round(seconds * 1000)}ms", "-keepalive=true", "-timeout=10s", f"-output={results}"]
        # Uncapped, vegeta answers any stall with new workers, each on a new connection: a storm
        # of connects overflows the listen queue and SYN retries (1 s, 3 s) swamp the tail.
        # Clients of a policy service pool their connections; 512 is far above what 15k req/s
        # at 1 ms needs (15).
        attack += [f"-max-workers={MAX_CONNECTIONS}", f"-max-connections={MAX_CONNECTIONS}"]
        subprocess.run(pinned(attack, cpus), check=True, capture_output=True)
        rows = subprocess.run(
            [tool("vegeta"), "encode", "--to=csv", str(results)], check=True, capture_output=True
        ).stdout
    return _vegeta_figures(rows.decode(), rate, seconds)


def _vegeta_figures(rows: str, rate: int, seconds: float) -> dict:
    latencies, errors, first, last = [], 0, None, None
    for row in csv.reader(io.StringIO(rows)):
        stamp, code, latency = int(row[0]), int(row[1]), int(row[2])
        first = stamp if first is None else min(first, stamp)
        last = stamp + latency if last is None else max(last, stamp + latency)
        latencies.append(latency)
        errors += not 200 <= code < 300
    latencies.sort()
    n = len(latencies)

    def ms(q: float) -> float:
        return round(nearest_rank(latencies, q) / 1e6, 3) if n else 0.0

    elapsed = ((last - first) / 1e9) if n else seconds
    return {
        "quantiles_ms": {str(q): ms(q) for q in QUANTILES},
        "offered": rate,
        "requests": n,
        "p50_ms": ms(0.5),
        "p95_ms": ms(0.95),
        "p99_ms": ms(0.99),
        "p999_ms": ms(0.999),
        "rps": round(n / elapsed) if elapsed else 0,
        "errors": errors,
    }


def wrk(url: str, trace: Path, seconds: float, connections: int, cpus: str) -> dict:
    """Closed loop: the maximum throughput, with wrk's latency percentiles (ms)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_REPLAY)
    cmd = [tool("wrk"), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", script.name, url]
    try:
        out = subprocess.run(pinned([*cmd, "--", str(trace)], cpus), check=True, capture_output=True, text=True).stdout
    finally:
        Path(script.name).unlink()
    return _wrk_figures(out)


def _wrk_figures(out: str) -> dict:
    match = re.search(r"^PE_RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no result: {out[-500:]}")
    requests, duration_us, errors, p50, p95, p99, p999 = (int(g) for g in match.groups())
    return {
        "offered": "max",
        "requests": requests,
        "p50_ms": p50 / 1000,
        "p95_ms": p95 / 1000,
        "p99_ms": p99 / 1000,
        "p999_ms": p999 / 1000,
        "rps": round(requests / (duration_us / 1e6)),
        "errors": errors,
    }
