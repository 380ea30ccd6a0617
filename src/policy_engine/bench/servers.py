"""The systems under test, started as real processes (optionally pinned with taskset)."""

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from policy_engine.bench.opa_server import free_port, opa_process, serving

OPA_DECISION_PATH = "/v1/data/acgs/constitutional/evaluate"


@dataclass
class Service:
    url: str
    pid: int
    extra_pids: list[int] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [self.pid, *self.extra_pids]


@contextlib.contextmanager
def running_service(*args: str, env: dict[str, str] | None = None, cpus: str | None = None) -> Iterator[Service]:
    """`policy-engine serve` on a free port; SIGTERM (a graceful stop) on the way out."""
    port = free_port()
    cmd = [sys.executable, "-m", "policy_engine.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PE_")}
    full_env.update({"LOG_LEVEL": "warning", **(env or {})})
    with serving(cmd, port, "/ready", cpus, env=full_env) as proc:
        yield Service(f"http://127.0.0.1:{port}", proc.pid)


@contextlib.contextmanager
def floor_server(cpus: str | None) -> Iterator[Service]:
    """uvicorn as the service runs it, serving bench.floor_app (no policy work at all)."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "policy_engine.bench.floor_app:app", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    with serving(cmd, port, "/", cpus) as proc:
        yield Service(f"http://127.0.0.1:{port}", proc.pid)


@contextlib.contextmanager
def opa_pid_server(cpus: str | None) -> Iterator[Service]:
    with opa_process(cpus=cpus) as (url, pid):
        yield Service(url, pid)


# The new engine's variants: what each turns off, to measure what it brings.
EMBEDDED_VARIANTS = {
    "embedded": (),
    "embedded-no-batch": ("--no-batching",),
    "embedded-no-pe": ("--no-partial-eval",),
    "embedded-no-cache": ("--no-cache",),
}


# Decision logging (decision_logs/): the embedded service logging every decision to a file.
LOGGING_VARIANTS = {
    "embedded-log-file": (),
    "embedded-log-sync": ("--decision-log-sync",),
}


@contextlib.contextmanager
def logging_service(mode: str, cpus: str, workers: int) -> Iterator[Service]:
    """The embedded service with its decisions logged to a file in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="bench-decision-logs-") as tmp:
        args = ("--decision-log-file", f"{tmp}/decisions.jsonl", "--decision-log-file-keep", "1")
        with running_service(*args, *LOGGING_VARIANTS[mode], "--workers", str(workers), cpus=cpus) as service:
            service.extra_pids.extend(_children(service.pid))
            yield service


@contextlib.contextmanager
def system_under_test(mode: str, cpus: str, workers: int = 1) -> Iterator[tuple[Service, str]]:
    """(the processes, the URL load tools hit) for one benchmark mode."""
    if mode in EMBEDDED_VARIANTS:
        with running_service(*EMBEDDED_VARIANTS[mode], "--workers", str(workers), cpus=cpus) as service:
            service.extra_pids.extend(_children(service.pid))
            yield service, service.url + "/v1/evaluate"
    elif mode in LOGGING_VARIANTS:
        with logging_service(mode, cpus, workers) as service:
            yield service, service.url + "/v1/evaluate"
    elif mode == "legacy":
        with opa_pid_server(cpus) as opa:
            args = ("--engine", "opa-http", "--opa-url", opa.url, "--no-cache")
            with running_service(*args, cpus=cpus) as service:
                service.extra_pids.append(opa.pid)
                yield service, service.url + "/v1/evaluate"
    elif mode == "floor":
        with floor_server(cpus) as service:
            yield service, service.url + "/v1/evaluate"
    elif mode == "opa-server":
        with opa_pid_server(cpus) as opa:
            yield opa, opa.url + OPA_DECISION_PATH
    else:
        raise ValueError(f"unknown mode {mode}")


def _children(pid: int) -> list[int]:
    """Worker processes (uvicorn --workers > 1), so that their CPU and memory count too."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(c) for c in children.read().split()]
    except OSError:
        return []


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of the processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks
