"""The old path: decisions from an external OPA over HTTP, behind a circuit breaker.

It is the "before" of every A/B measurement and a fallback. One pooled keep-alive session
(aiohttp) carries every request.
"""

import time
from enum import IntEnum

import aiohttp
import msgspec

from policy_engine import jsontext
from policy_engine.engine.errors import EngineError, EvaluationError, UpstreamUnavailable


class BreakerState(IntEnum):
    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


class CircuitOpen(EngineError):
    code = "circuit_open"


class _DataResponse(msgspec.Struct):
    result: msgspec.Raw = msgspec.Raw()  # empty: undefined


_response = msgspec.json.Decoder(_DataResponse)


class CircuitBreaker:
    """Opens after `failures` consecutive failures; after `reset_seconds` lets one trial through."""

    def __init__(self, failures: int, reset_seconds: float) -> None:
        self.failures_to_open = failures
        self.reset_seconds = reset_seconds
        self.state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    def admit(self) -> None:
        if self.state == BreakerState.CLOSED:
            return
        if self.state == BreakerState.OPEN and time.monotonic() - self._opened_at >= self.reset_seconds:
            self.state = BreakerState.HALF_OPEN
        if self.state == BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return
        raise CircuitOpen("OPA circuit breaker is open")

    def succeeded(self) -> None:
        self._failures = 0
        self._trial_in_flight = False
        self.state = BreakerState.CLOSED

    def failed(self) -> None:
        self._failures += 1
        self._trial_in_flight = False
        if self.state == BreakerState.HALF_OPEN or self._failures >= self.failures_to_open:
            self.state = BreakerState.OPEN
            self._opened_at = time.monotonic()


class OpaHttpClient:
    """POSTs inputs to OPA's Data API; answers the result's JSON, or None when undefined."""

    def __init__(self, base_url: str, timeout: float, pool_size: int, breaker: CircuitBreaker) -> None:
        self.base_url = base_url.rstrip("/")
        self.breaker = breaker
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._pool_size, keepalive_timeout=60)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """One call through the breaker; transport failures and 5xx count against it."""
        self.breaker.admit()
        try:
            async with self._client().request(
                method, self.base_url + path, data=body, headers={"Content-Type": "application/json"}
            ) as response:
                payload = await response.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self.breaker.failed()
            raise UpstreamUnavailable(f"OPA at {self.base_url} unreachable: {exc!r}") from exc
        if response.status >= 500:
            self.breaker.failed()
        else:
            self.breaker.succeeded()
        return response.status, payload

    async def decide(self, path: str, input_json: bytes) -> bytes | None:
        status, payload = await self.request("POST", f"/v1/data/{path}", b'{"input":' + input_json + b"}")
        if status != 200:
            raise EvaluationError(f"OPA answered {status}: {payload[:300].decode(errors='replace')}")
        result = jsontext.decode(payload, _response)[0].result
        return bytes(result) if result else None

    async def healthy(self) -> bool:
        try:
            status, _ = await self.request("GET", "/health")
        except EngineError:
            return False
        return status == 200

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
