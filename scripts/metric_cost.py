"""What one counter increment costs: the service's plain counters (what the hot path does, with
one worker or several), prometheus_client's counter, and prometheus_client's counter in
multiprocess mode (an mmap write per increment, what the service avoids), plus one flush of a
worker's numbers to its files under --workers N (once a second, off the request path).

    PYTHONPATH=src python scripts/metric_cost.py
"""

import os
import subprocess
import sys
import tempfile
import timeit

N = 200_000


def per_call_ns(stmt: str, setup: str, number: int = N) -> float:
    return min(timeit.repeat(stmt, setup, number=number, repeat=5)) / number * 1e9


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        setup = "from prometheus_client import Counter; c = Counter('x', 'x', ['a'], registry=None).labels('b')"
        print(f"{per_call_ns('c.inc()', setup):.0f}")
        return
    ours = per_call_ns('c.inc("allow", "constitutional", "true")', _OURS)
    client = _client_ns({})
    with tempfile.TemporaryDirectory() as path:
        multiprocess = _client_ns({"PROMETHEUS_MULTIPROC_DIR": path})
        flush = per_call_ns("files.flush()", _FLUSH.format(path=path), number=200) / 1000
    print(f"service counter inc (any number of workers): {ours:6.0f} ns")
    print(f"prometheus_client counter inc:               {client:6.0f} ns")
    print(f"prometheus_client multiprocess counter inc:  {multiprocess:6.0f} ns")
    print(f"one worker's flush to its files (1/s):        {flush:6.1f} us")


def _client_ns(env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--client"], env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return float(out.stdout)


_OURS = "from policy_engine.metrics import Metrics; c = Metrics().evaluations"
# A worker's numbers after some traffic: the labels a real run fills.
_FLUSH = """
from policy_engine.metrics import Metrics
from policy_engine.shared_metrics import WorkerFiles
m = Metrics()
for hit in (True, False):
    m.decided(True, hit, 0.0003); m.decided(False, hit, 0.002)
for endpoint in ("/v1/evaluate", "/v1/data", "/health", "/metrics"):
    m.requests.observe(0.0004, endpoint, "POST", "200")
m.cache_hits.inc("l1"); m.cache_requests.inc(); m.engine_calls.inc(); m.batch_size.observe(3)
files = WorkerFiles(m, {path!r})
"""

if __name__ == "__main__":
    main()
