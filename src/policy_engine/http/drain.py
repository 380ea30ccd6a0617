"""A graceful stop: SIGTERM drains before uvicorn shuts down.

On SIGTERM /ready turns 503 at once while everything else is served as usual for
`drain_seconds`, so that load balancers stop sending. Then the process keeps reading until no
request has arrived for a quiet moment: requests that clients had already written (in socket
buffers, or on connections not yet accepted) are read and answered rather than reset. Only
then is uvicorn's own shutdown started, which stops accepting, lets requests in flight finish
within `--shutdown-timeout` and runs the lifespan shutdown.
"""

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from types import FrameType

log = logging.getLogger(__name__)

QUIET_SECONDS = 0.2  # no request for this long: what was written before the stop has been read

Handler = Callable[[int, FrameType | None], object]


class Drain:
    def __init__(self, drain_seconds: float, shutdown_timeout: float) -> None:
        self.drain_seconds = drain_seconds
        self.shutdown_timeout = shutdown_timeout
        self.draining = False
        self.last_request = time.monotonic()

    def seen(self) -> None:
        """A request arrived (called for every request: a single store)."""
        self.last_request = time.monotonic()

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take SIGTERM over from the server (uvicorn's handler runs once the drain is done)."""
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):
            return

        def on_sigterm(sig: int, frame: FrameType | None) -> None:
            if self.draining:
                previous(sig, frame)  # a second SIGTERM: stop now
                return
            self.draining = True
            loop.call_soon_threadsafe(lambda: loop.create_task(self._drain(previous, sig)))

        signal.signal(signal.SIGTERM, on_sigterm)

    async def _drain(self, stop: Handler, sig: int) -> None:
        log.warning("SIGTERM: not ready; draining for %g s", self.drain_seconds)
        await asyncio.sleep(self.drain_seconds)
        deadline = time.monotonic() + self.shutdown_timeout
        while time.monotonic() - self.last_request < QUIET_SECONDS and time.monotonic() < deadline:
            await asyncio.sleep(QUIET_SECONDS / 4)
        log.warning("drained: stopping")
        stop(sig, None)
