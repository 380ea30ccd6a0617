"""The decision logger: events in from the request path, sealed lines out to the sinks.

The request path only appends an event to a bounded buffer (oldest dropped and counted when
the writer cannot keep up) and, at most once per burst, wakes the writer thread. The writer
compares a sample with the shadow OPA, applies the drop and mask rules, writes the JSON,
seals it into the chain and hands each batch to every sink.

Durable mode (--decision-log-sync): a request's response waits for its event to be in the
file. The events of one event-loop tick are encoded and written with one write and one flush
in the next tick, then their requests are released; the other sinks get the same lines
through the writer thread.
"""

import asyncio
import logging
import threading
import time
from collections import deque

import orjson

from policy_engine import jsontext
from policy_engine.decision_logs import mask
from policy_engine.decision_logs.chain import Chain
from policy_engine.decision_logs.event import DecisionEvent, EventFormat
from policy_engine.decision_logs.shadow import ShadowOpa
from policy_engine.decision_logs.sinks import FileSink, Sink
from policy_engine.metrics import Metrics

log = logging.getLogger(__name__)

YIELD_EVERY = 16  # events encoded between two yields of the GIL (~100-200 us of work)


def _one_line(raw: bytes) -> bytes:
    """The client's JSON on one line (its whitespace may hold line breaks; strings cannot)."""
    if b"\n" in raw or b"\r" in raw:
        return jsontext.exact_dumps(jsontext.exact_loads(raw))
    return raw


class Encoder:
    """Event -> sealed line (None: dropped by the policy). Used by one thread at a time."""

    def __init__(
        self,
        fmt: EventFormat,
        chain: Chain,
        policy: mask.LogPolicy | None = None,
        static_masks: list[mask.Rule] | None = None,
    ) -> None:
        self.fmt = fmt
        self.chain = chain
        self.policy = policy
        self.static_masks = static_masks or []

    def encode(self, event: DecisionEvent) -> bytes | None:
        head = self.fmt.head(event)
        input_json = _one_line(event.input) if event.input is not None else None
        result = event.result
        engine = self.policy.engine() if self.policy is not None else None
        if engine is not None or self.static_masks:
            rules = list(self.static_masks)
            if engine is not None:
                assert self.policy is not None
                decision = self.policy.constant(engine)
                if decision is None:
                    decision = mask.LogPolicy.decide(engine, _body(head, input_json, result))
                if decision.drop:
                    return None
                rules = decision.rules + rules
            if rules:
                head, input_json, result = _masked(rules, head, input_json, result)
        return self.chain.seal(_body(head, input_json, result))


def _body(head: dict, input_json: bytes | None, result: bytes | None) -> bytes:
    body = orjson.dumps(head)[:-1]
    if input_json is not None:
        body += b',"input":' + input_json
    if result is not None:
        body += b',"result":' + result
    return body + b"}"


def _masked(
    rules: list[mask.Rule], head: dict, input_json: bytes | None, result: bytes | None
) -> tuple[dict, bytes | None, bytes | None]:
    document = {}
    if input_json is not None:
        document["input"] = jsontext.exact_loads(input_json)
    if result is not None:
        document["result"] = jsontext.exact_loads(result)
    erased, masked = mask.apply(rules, document)
    if not erased and not masked:
        return head, input_json, result
    if erased:
        head["erased"] = erased
    if masked:
        head["masked"] = masked
    input_json = jsontext.exact_dumps(document["input"]) if "input" in document else None
    result = jsontext.exact_dumps(document["result"]) if "result" in document else None
    return head, input_json, result


class _CompareOnly:
    """Durable mode: an event already written, still to be compared with the shadow OPA."""

    __slots__ = ("event",)

    def __init__(self, event: DecisionEvent) -> None:
        self.event = event


Item = DecisionEvent | bytes | _CompareOnly


class DecisionLogger:
    def __init__(
        self,
        encoder: Encoder,
        sinks: list[Sink],
        metrics: Metrics,
        capacity: int = 10000,
        durable: FileSink | None = None,
        shadow: ShadowOpa | None = None,
    ) -> None:
        self.encoder = encoder
        self.sinks = [s for s in sinks if s is not durable]  # written by the writer thread
        self.durable = durable
        self.metrics = metrics
        self.capacity = capacity
        self.shadow = shadow
        self._buffer: deque[Item] = deque()
        self._wake = threading.Event()
        self._woken = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="decision-log-writer", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tick: list[tuple[DecisionEvent, asyncio.Future]] = []

    @property
    def all_sinks(self) -> list[Sink]:
        return [*self.sinks, *([self.durable] if self.durable is not None else [])]

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread.start()

    def log(self, event: DecisionEvent) -> asyncio.Future | None:
        """Hands the event over; in durable mode, a future done once it is in the file."""
        if self.durable is not None:
            assert self._loop is not None
            future = self._loop.create_future()
            if not self._tick:
                self._loop.call_soon(self._write_tick)
            self._tick.append((event, future))
            return future
        self._push(event)
        return None

    def _push(self, item: Item) -> None:
        buffer = self._buffer
        if len(buffer) >= self.capacity:
            try:
                buffer.popleft()
                self.metrics.decision_logs_dropped.inc("buffer_full")
            except IndexError:  # the writer took everything in between
                pass
        buffer.append(item)
        if not self._woken:
            self._woken = True
            self._wake.set()

    def _write_tick(self) -> None:
        """Durable mode: the events of the last tick, in one write and flush; then their answers go."""
        tick, self._tick = self._tick, []
        lines = self._encode([event for event, _ in tick])
        assert self.durable is not None
        if lines:
            try:
                self.durable.write(lines)
                self.metrics.decision_logs_events.inc(self.durable.name, n=len(lines))
            except OSError as exc:  # the request is still answered; the loss is counted and said
                log.error("decision log file write failed: %s", exc)
                self.metrics.decision_logs_dropped.inc("write_error", n=len(lines))
        for _, future in tick:
            if not future.done():
                future.set_result(None)
        if self.sinks:
            for line in lines:
                self._push(line)
        if self.shadow is not None:  # compared afterwards: counted, not recorded in the written event
            for event, _ in tick:
                self._push(_CompareOnly(event))

    def _encode(self, events: list[DecisionEvent]) -> list[bytes]:
        lines = []
        for event in events:
            try:
                line = self.encoder.encode(event)
            except Exception:  # a bad event must not stop the log
                log.exception("decision log event could not be written")
                self.metrics.decision_logs_dropped.inc("encoding_error")
                continue
            if line is None:
                self.metrics.decision_logs_dropped.inc("policy_drop")
            else:
                lines.append(line)
        return lines

    def _run(self) -> None:
        while True:
            self._wake.wait(0.25)
            self._wake.clear()
            self._woken = False
            items = self._take()
            if items:
                self._deliver(items)
            elif self._stopping:
                return

    def _take(self) -> list[Item]:
        items = []
        buffer = self._buffer
        while buffer:
            items.append(buffer.popleft())
        return items

    def _deliver(self, items: list[Item]) -> None:
        if self.shadow is not None:
            for item in items:
                event = item.event if type(item) is _CompareOnly else item
                if type(event) is DecisionEvent and self.shadow.sampled():
                    self.shadow.compare(event)
        lines: list[bytes] = []
        for n, item in enumerate(items, 1):
            if type(item) is bytes:
                lines.append(item)
            elif type(item) is DecisionEvent:
                lines.extend(self._encode([item]))
                if n % YIELD_EVERY == 0:
                    # Hand the GIL back to the event loop now and then: otherwise a request may
                    # wait out the interpreter's whole switch interval (5 ms) behind a big batch.
                    time.sleep(0)
        if not lines:
            return
        for sink in self.sinks:
            try:
                sink.write(lines)
                self.metrics.decision_logs_events.inc(sink.name, n=len(lines))
            except Exception as exc:
                log.error("decision log sink %s failed: %s", sink.name, exc)
                self.metrics.decision_logs_dropped.inc(f"{sink.name}_error", n=len(lines))

    async def aclose(self, timeout: float = 10.0) -> None:
        """On the event loop: the last tick's events written there, then `close` off the loop."""
        if self._tick:
            self._write_tick()
        await asyncio.to_thread(self.close, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Blocking: every buffered event reaches every sink (the HTTP sink within `timeout`)."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        for sink in self.all_sinks:
            try:
                sink.close(timeout)
            except Exception as exc:
                log.error("decision log sink %s did not close cleanly: %s", sink.name, exc)
