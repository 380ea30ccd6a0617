"""Sources notice every new bundle and nothing else: local content, a server's ETags."""

import asyncio
import os
import time

import pytest

from policy_engine.bundle.sources import FetchError, HttpSource, LocalSource, Polling
from tests.support.bundle_server import bundle_server


def fetch(source):
    """One fetch in its own event loop (and its own HTTP session)."""

    async def once():
        try:
            return await source.fetch()
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                await close()

    return asyncio.run(once())


def test_a_local_edit_of_the_same_size_with_its_mtime_kept_is_seen(tmp_path):
    policy = tmp_path / "p.rego"
    policy.write_text("package p\n\nx := 1\n")
    source = LocalSource(tmp_path, interval=1)
    assert fetch(source) is not None
    assert fetch(source) is None  # unchanged
    stat = policy.stat()
    policy.write_text("package p\n\nx := 2\n")
    os.utime(policy, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert fetch(source) is not None


def test_a_server_is_asked_with_the_last_etag_and_a_304_is_nothing_new(tmp_path):
    with bundle_server(token="t0ken") as server:
        server.publish(b"first")
        source = HttpSource(server.url, Polling(timeout=2), token="t0ken", download_dir=tmp_path)

        async def two_fetches():
            first, second = await source.fetch(), await source.fetch()
            await source.close()
            return first, second

        first, second = asyncio.run(two_fetches())
        assert first is not None and first.path.read_bytes() == b"first"
        assert second is None
        assert server.requests[1]["If-None-Match"] == server.etag
        assert all(r["Authorization"] == "Bearer t0ken" for r in server.requests)


def test_a_long_poll_returns_as_soon_as_a_bundle_is_published(tmp_path):
    with bundle_server() as server:
        server.publish(b"first")
        source = HttpSource(server.url, Polling(long_poll_timeout=10, timeout=2), download_dir=tmp_path)

        async def wait_for_the_next():
            await source.fetch()
            asyncio.get_running_loop().call_later(0.3, server.publish, b"second")
            started = time.monotonic()
            found = await source.fetch()
            await source.close()
            return found, time.monotonic() - started

        found, waited = asyncio.run(wait_for_the_next())
        assert found is not None and found.path.read_bytes() == b"second"
        assert waited < 5  # answered on publication, not at the 10 s wait
        assert server.requests[-1]["Prefer"] == "modes=snapshot;wait=10"
        assert source.delay(failed=False) == 0  # the server did the waiting


def test_a_server_that_is_down_slow_or_refusing_is_a_fetch_error(tmp_path):
    with bundle_server(token="right") as server:
        server.publish(b"bundle")
        cases = {
            "refused": HttpSource(server.url, Polling(timeout=2), token="wrong", download_dir=tmp_path),
            "slow": HttpSource(server.url, Polling(timeout=0.2), token="right", download_dir=tmp_path),
        }
        server.delay = 0.0
        with pytest.raises(FetchError, match="401"):
            fetch(cases["refused"])
        server.delay = 1.0
        with pytest.raises(FetchError):
            fetch(cases["slow"])
        url = server.url
    with pytest.raises(FetchError):
        fetch(HttpSource(url, Polling(timeout=1), download_dir=tmp_path))


def test_failures_back_off_up_to_the_maximum_delay():
    source = HttpSource("http://127.0.0.1:9/none", Polling(min_delay=1, max_delay=8))
    delays = []
    for _ in range(6):
        with pytest.raises(FetchError):
            fetch(source)
        delays.append(source.delay(failed=True))
    assert delays[0] <= 1 and max(delays) <= 8 and delays[-1] >= 4
    assert 1 <= source.delay(failed=False) <= 8
