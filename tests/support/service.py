"""Talk HTTP to a real `policy-engine serve` (started by policy_engine.bench.servers)."""

import contextlib
from collections.abc import Iterator

import httpx

from policy_engine.bench import servers


@contextlib.contextmanager
def running_service(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    with servers.running_service(*args, env=env) as service:
        yield service.url


def client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=10)
