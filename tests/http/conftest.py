from collections.abc import Iterator

import httpx
import pytest

from tests.support.service import client, running_service


@pytest.fixture(scope="package")
def service_url() -> Iterator[str]:
    with running_service() as url:
        yield url


@pytest.fixture(scope="package")
def http(service_url: str) -> Iterator[httpx.Client]:
    with client(service_url) as c:
        yield c
