"""A decision log event: what the HTTP layer hands over, and its JSON in OPA's format.

The request path only fills a slotted object with references it already holds (the input's and
the result's JSON bytes, ids, clocks); the JSON is written later, off the request path, by
splicing those bytes into the event document: nothing is parsed or re-encoded unless a mask
has to change it.
"""

from datetime import UTC, datetime

import msgspec
import orjson


class DecisionEvent:
    """One decision, as the HTTP layer knows it. Built only when logging is on."""

    __slots__ = (
        "agent_id",
        "batch_decision_id",
        "cache_hit",
        "client",
        "decision_id",
        "error",
        "handler_ns",
        "input",
        "metrics",
        "path",
        "query",
        "request_id",
        "result",
        "revision",
        "shadow",
        "tier",
        "timestamp_ns",
    )

    def __init__(
        self,
        decision_id: str,
        path: str,
        input: bytes | None,
        result: bytes | None,
        timestamp_ns: int,
        handler_ns: int,
        client: tuple | None = None,
        revision: str = "",
        cache_hit: bool = False,
        tier: str = "",
        agent_id: str | None = None,
        request_id: str | None = None,
        batch_decision_id: str | None = None,
        error: str | None = None,
        query: str | None = None,
        metrics: dict | None = None,
    ) -> None:
        self.decision_id = decision_id
        self.path = path
        self.input = input  # the input's JSON as OPA read it; None: no input
        self.result = result  # the result's JSON; None: undefined
        self.timestamp_ns = timestamp_ns  # time.time_ns() when decided
        self.handler_ns = handler_ns
        self.client = client  # the ASGI scope's (host, port)
        self.revision = revision
        self.cache_hit = cache_hit
        self.tier = tier
        self.agent_id = agent_id
        self.request_id = request_id
        self.batch_decision_id = batch_decision_id
        self.error = error
        self.query = query  # an ad-hoc query's text (OPA's /v1/query, POST /v1/query): no path
        self.metrics = metrics  # OPA's own metrics, for decisions its server made; None: handler_ns
        self.shadow: dict | None = None  # set by the shadow comparison, when sampled


_second: list = [None, ""]  # the last second formatted, and its text (formatting costs ~8 µs)


def rfc3339_nanos(timestamp_ns: int) -> str:
    """RFC 3339 with nanoseconds in UTC, as OPA writes event timestamps."""
    seconds, nanos = divmod(timestamp_ns, 1_000_000_000)
    last = _second
    if last[0] != seconds:
        last[1] = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        last[0] = seconds
    return f"{last[1]}.{nanos:09d}Z"


class _Rule(msgspec.Struct):
    rule: msgspec.Raw = msgspec.Raw()


_rule = msgspec.json.Decoder(_Rule)


def rule_of(result: bytes | None) -> bytes | None:
    """The `rule` member of an object result, as its JSON (the ACGS policy names the rule that decided)."""
    if result is None or result[:1] != b"{":
        return None
    try:
        found = bytes(_rule.decode(result).rule)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return found or None


class EventFormat:
    """Writes events as OPA's decision log JSON, with this instance's labels and bundle name."""

    def __init__(self, labels: dict[str, str], bundle_name: str) -> None:
        self.labels = orjson.Fragment(orjson.dumps(labels))
        self.bundle_name = bundle_name

    def head(self, event: DecisionEvent) -> dict:
        """Every member but input and result (those are spliced as bytes)."""
        document: dict = {"labels": self.labels, "decision_id": event.decision_id}
        if event.revision:
            document["bundles"] = {self.bundle_name: {"revision": event.revision}}
        if event.query is None:
            document["path"] = event.path
        else:
            document["query"] = event.query
        if event.error is not None:
            document["error"] = {"code": "internal_error", "message": event.error}
        if event.client is not None:
            document["requested_by"] = f"{event.client[0]}:{event.client[1]}"
        document["timestamp"] = rfc3339_nanos(event.timestamp_ns)
        document["metrics"] = event.metrics or {"timer_server_handler_ns": event.handler_ns}
        document["cache_hit"] = event.cache_hit
        if event.tier:
            document["cache_tier"] = event.tier
        rule = rule_of(event.result)
        if rule is not None:
            document["rule"] = orjson.Fragment(rule)
        if event.agent_id is not None:
            document["agent_id"] = event.agent_id
        if event.request_id is not None:
            document["request_id"] = event.request_id
        if event.batch_decision_id is not None:
            document["batch_decision_id"] = event.batch_decision_id
        if event.shadow is not None:
            document["shadow"] = event.shadow
        return document
