"""Fixtures shared by every layer's tests."""

from collections.abc import Iterator

import pytest

from policy_engine.bench.opa_server import OpaClient, opa_server
from policy_engine.bench.redis_server import RedisServer
from policy_engine.engine import Engine


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine()


@pytest.fixture(scope="session")
def opa_url() -> Iterator[str]:
    """A real `opa run --server` with the project's bundle: the oracle."""
    with opa_server() as url:
        yield url


@pytest.fixture(scope="session")
def opa(opa_url: str) -> Iterator[OpaClient]:
    client = OpaClient(opa_url)
    yield client
    client.close()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh local redis-server for one test."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()
