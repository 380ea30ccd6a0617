"""Percentiles and process figures shared by the benchmarks."""

import os
import platform
import statistics
from collections.abc import Sequence


def nearest_rank(ordered: Sequence[int], q: float) -> int:
    """The q-quantile of sorted, non-empty samples, by nearest rank."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def percentiles_us(samples_ns: Sequence[int]) -> dict[str, float]:
    """p50/p95/p99/p99.9 in microseconds (nearest-rank on the sorted samples)."""
    ordered = sorted(samples_ns)
    n = len(ordered)

    def at(q: float) -> float:
        return round(nearest_rank(ordered, q) / 1000, 1)

    return {
        "p50_us": at(0.50),
        "p95_us": at(0.95),
        "p99_us": at(0.99),
        "p999_us": at(0.999),
        "n": n,
    }


def _status_mb(field: str, pid: int | None) -> float:
    with open(f"/proc/{pid or os.getpid()}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def rss_mb(pid: int | None = None) -> float:
    """Resident set size now, from /proc (Linux)."""
    return _status_mb("VmRSS", pid)


def peak_rss_mb(pid: int | None = None) -> float:
    """The highest resident set size the process reached."""
    return _status_mb("VmHWM", pid)


def spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
