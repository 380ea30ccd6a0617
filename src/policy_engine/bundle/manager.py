"""The bundle manager: watch, fetch, verify, compile, specialise, warm, activate, announce.

One place owns a bundle's way from its source to serving. Verification and compilation are
the bridge's (OPA's own loader, with the `opa run` verification options); building the new
snapshot runs off the event loop; activation is one swap. A bundle that fails at any step
changes nothing: the last good revision keeps serving, and the failure is counted
(`bundle_loads_total{result}`) and shown in /health with OPA's message (file:line included).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from policy_engine.bundle.sources import Fetched, FetchError
from policy_engine.engine.errors import EngineError
from policy_engine.metrics import Metrics

log = logging.getLogger(__name__)


class Source(Protocol):
    def describe(self) -> str: ...

    async def fetch(self) -> Fetched | None: ...

    def delay(self, failed: bool) -> float: ...


class Loaded(Protocol):
    """What a loaded bundle must tell the manager: the snapshot itself is opaque to it."""

    revision: str  # the content hash
    manifest_revision: str


class BundleUnavailable(Exception):
    """No bundle could be loaded at start: the service cannot decide anything."""


@dataclass
class BundleStatus:
    """What /health and /metrics say of the bundle."""

    source: str
    revision: str = ""  # the manifest's revision
    content_hash: str = ""
    activated: bool = False
    last_success: float = 0.0  # UNIX time of the last activation
    last_error: str = ""
    last_error_at: float = 0.0
    loads: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "source": self.source,
            "revision": self.revision,
            "content_hash": self.content_hash,
            "activated": self.activated,
            "last_success": self.last_success or None,
            "last_error": self.last_error or None,
        }


class BundleManager:
    def __init__(
        self,
        source: Source,
        build: Callable[[Path], Loaded],
        activate: Callable[[Loaded], Awaitable[None]],
        metrics: Metrics,
    ) -> None:
        self.source = source
        self._build = build  # blocking: loads, verifies, compiles and specialises (run in a thread)
        self._activate = activate
        self.metrics = metrics
        self.status = BundleStatus(source.describe())
        self._wake = asyncio.Event()
        metrics.gauge(
            "bundle_last_success_timestamp_seconds",
            "UNIX time of the last bundle activation",
            lambda: self.status.last_success,
            mode="livemin",  # across workers, the oldest: a stale worker shows
        )
        metrics.revision_info = lambda: (self.status.revision, self.status.content_hash)

    async def start(self) -> None:
        """The first bundle, or BundleUnavailable saying why (the service cannot serve without one)."""
        try:
            fetched = await self.source.fetch()
            if fetched is None:
                raise FetchError("the source answered 'not modified' to a first request")
            await self._load(fetched)
        except (FetchError, EngineError) as exc:
            message = exc.message if isinstance(exc, EngineError) else str(exc)
            self._failed("rejected" if isinstance(exc, EngineError) else "fetch_error", message)
            raise BundleUnavailable(f"no bundle could be loaded from {self.source.describe()}: {message}") from exc

    def poll_now(self) -> None:
        """Check the source now rather than at the next interval (another instance announced a revision)."""
        self._wake.set()

    async def run(self) -> None:
        """Polls the source until cancelled; each failure leaves the active revision serving."""
        failed = False
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.source.delay(failed))
            self._wake.clear()
            failed = not await self.poll()

    async def poll(self) -> bool:
        """One check of the source; False when it failed."""
        try:
            fetched = await self.source.fetch()
            if fetched is not None:
                await self._load(fetched)
            return True
        except FetchError as exc:
            self._failed("fetch_error", str(exc))
        except EngineError as exc:
            self._failed("rejected", exc.message)
        return False

    async def _load(self, fetched: Fetched) -> None:
        loaded = await asyncio.to_thread(self._build, fetched.path)
        if loaded.revision == self.status.content_hash:
            return  # the same content again (a touched file, a new ETag)
        await self._activate(loaded)
        self.status.revision, self.status.content_hash = loaded.manifest_revision, loaded.revision
        self.status.activated, self.status.last_success = True, time.time()
        self.status.last_error = ""
        self._count("ok")
        log.warning("serving bundle revision %r (content %s)", loaded.manifest_revision, loaded.revision)

    async def close(self) -> None:
        close = getattr(self.source, "close", None)
        if close is not None:
            await close()

    def _failed(self, result: str, message: str) -> None:
        self._count(result)
        self.status.last_error, self.status.last_error_at = message, time.time()
        log.error("bundle %s: %s; still serving revision %r", result, message, self.status.revision)

    def _count(self, result: str) -> None:
        self.metrics.bundle_loads.inc(result)
        self.status.loads[result] = self.status.loads.get(result, 0) + 1
