"""A/B against the old sidecar: a share of live decisions re-asked of an OPA server's Data API.

Runs in the logger's writer thread, never on the request path: the request has been answered
with the engine's result; the event records both results and whether they agree.
"""

import http.client
import logging
import random
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from policy_engine.decision_logs.event import DecisionEvent
from policy_engine.metrics import Metrics

log = logging.getLogger(__name__)


def same_result(a: bytes | None, b: bytes | None) -> bool:
    """Two results' JSON equal as values (key order and spacing aside)."""
    if a is None or b is None:
        return a is b
    return a == b or _value(a) == _value(b)


def _value(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw


class DataApiClient:
    """POST /v1/data/{path} {"input": ...} on one keep-alive connection: (result JSON or None)."""

    def __init__(self, url: str, timeout: float = 2.0) -> None:
        parts = urlsplit(url.rstrip("/"))
        self.url, self.scheme, self.netloc, self.base = url, parts.scheme, parts.netloc, parts.path
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def decide(self, path: str, input_json: bytes | None) -> bytes | None:
        """The result's JSON (None: undefined); raises OSError or ValueError when OPA cannot answer."""
        body = b"{}" if input_json is None else b'{"input":' + input_json + b"}"
        try:
            if self._conn is None:
                kind = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
                self._conn = kind(self.netloc, timeout=self.timeout)
            target = f"{self.base}/v1/data/{quote(path.strip('/'))}"
            self._conn.request("POST", target, body, {"Content-Type": "application/json"})
            response = self._conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise OSError(f"{self.url}: {exc}") from exc
        if response.status != 200:
            raise ValueError(f"{self.url} answered {response.status}: {payload[:200]!r}")
        document = orjson.loads(payload)
        return orjson.dumps(document["result"]) if "result" in document else None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class ShadowOpa:
    def __init__(self, url: str, rate: float, metrics: Metrics, timeout: float = 2.0) -> None:
        self.client = DataApiClient(url, timeout)
        self.rate = rate
        self.metrics = metrics

    def sampled(self) -> bool:
        return self.rate >= 1 or random.random() < self.rate

    def compare(self, event: DecisionEvent) -> None:
        """Asks the shadow OPA the same question; records its answer and the verdict in the event."""
        if event.query is not None:  # an ad-hoc query: no Data API question to ask
            return
        self.metrics.shadow_opa_checks.inc()
        try:
            theirs = self.client.decide(event.path, event.input)
        except (OSError, ValueError) as exc:
            self.metrics.shadow_opa_errors.inc()
            event.shadow = {"url": self.client.url, "error": str(exc)}
            return
        match = same_result(event.result, theirs)
        if not match:
            self.metrics.shadow_opa_mismatches.inc()
        shadow: dict = {"url": self.client.url, "match": match}
        if theirs is not None:
            shadow["result"] = orjson.Fragment(theirs)
        event.shadow = shadow
