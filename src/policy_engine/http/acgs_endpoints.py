"""The ACGS API (API.md): evaluate, health, ready. Fails closed: never a 5xx, never an allow by error."""

import time

import msgspec
import orjson

from policy_engine import jsontext
from policy_engine.decision_logs.event import DecisionEvent
from policy_engine.decision_logs.logger import DecisionLogger
from policy_engine.decisions import Decided, Decisions
from policy_engine.engine.errors import EngineError
from policy_engine.http.acgs_request import EvaluateRequest, RequestInvalid, opa_input, parse_evaluate_request
from policy_engine.http.asgi import BodyTooLarge, Request, Response, json_response
from policy_engine.http.failures import public_message
from policy_engine.http.ids import decision_id
from policy_engine.metrics import Metrics

DEFAULT_POLICY_VERSION = "1.0.0"


def unprocessable(errors: list[dict]) -> Response:
    return json_response(422, {"detail": errors})


def too_large(limit: int) -> Response:
    return json_response(413, {"detail": f"request body exceeds the limit of {limit} bytes"})


class _Decision(msgspec.Struct):
    """The fields the API reads of a decision document, as their bytes: nothing else of the
    document is decoded (a number beyond a float elsewhere in it changes nothing)."""

    allow: msgspec.Raw = msgspec.Raw()
    violations: msgspec.Raw = msgspec.Raw()
    reason: msgspec.Raw = msgspec.Raw()
    confidence_score: msgspec.Raw = msgspec.Raw()
    policy_version: msgspec.Raw = msgspec.Raw()
    rule: msgspec.Raw = msgspec.Raw()


_decision = msgspec.json.Decoder(_Decision)
_items = msgspec.json.Decoder(list[msgspec.Raw])


def decision_fields(result: bytes) -> dict:
    """The API's fields from the policy's decision document (its JSON), with the old defaults.

    Anything but a literal true is a deny: a malformed document never allows. Values keep the
    policy's text: a number that is not a string is written as the policy wrote it."""
    try:
        document = _decision.decode(result)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise EngineError(f"the decision is not an object: {result[:200].decode(errors='replace')}") from exc
    violations = bytes(document.violations) or b"[]"
    items = _items.decode(violations) if violations[:1] == b"[" else [violations]
    reason, confidence = bytes(document.reason), bytes(document.confidence_score)
    version, rule = bytes(document.policy_version), bytes(document.rule)
    return {
        "allow": bytes(document.allow) == b"true",
        "violations": [jsontext.string_or_text(bytes(v)) for v in items],
        "reason": None if reason in (b"", b"null") else jsontext.string_or_text(reason),
        "confidence_score": orjson.Fragment(confidence) if confidence and confidence[:1] in b"-0123456789" else None,
        "policy_version": jsontext.string_or_text(version) if version else DEFAULT_POLICY_VERSION,
        "rule": orjson.Fragment(rule) if rule else None,
    }


def _failed(why: str) -> "Outcome":
    fields = {
        "allow": False,
        "violations": ["evaluation_error"],
        "reason": f"Policy evaluation failed: {why}",
        "confidence_score": 0.0,
        "policy_version": DEFAULT_POLICY_VERSION,
        "rule": None,
    }
    return Outcome(orjson.dumps(fields)[1:-1], allow=False, failed=True, cache_hit=False, error=why)


class Outcome(msgspec.Struct):
    fields: bytes  # the decision's fields as a JSON object's members, without braces
    allow: bool
    failed: bool
    cache_hit: bool
    input_json: bytes | None = None  # what the policy was asked, for the decision log
    decided: Decided | None = None
    error: str | None = None


def request_id(request: Request) -> str | None:
    """The client's X-Request-ID, for the decision log."""
    found = request.header(b"x-request-id")
    return found.decode("latin-1") if found is not None else None


def data_path(query: str) -> str:
    """data.acgs.constitutional.evaluate -> acgs/constitutional/evaluate (OPA's event path)."""
    return query.removeprefix("data").lstrip(".").replace(".", "/")


FRAGMENT_CACHE_SIZE = 4096


class AcgsEndpoints:
    def __init__(
        self,
        decisions: Decisions,
        metrics: Metrics,
        query: str,
        max_body: int,
        logs: DecisionLogger | None = None,
    ) -> None:
        self.decisions = decisions
        self.metrics = metrics
        self.query = query
        self.path = data_path(query)
        self.max_body = max_body
        self.logs = logs
        # Decision documents repeat (that is what the cache is for): their API fields too.
        self._fragments: dict[bytes, tuple[bytes, bool]] = {}

    async def evaluate(self, request: Request) -> Response:
        started = time.perf_counter_ns()
        try:
            body = parse_evaluate_request(await request.body(self.max_body))
        except BodyTooLarge:
            return too_large(self.max_body)
        except RequestInvalid as exc:
            return unprocessable(exc.errors)
        identifier = decision_id()
        outcome = await self.decide(body, identifier)
        elapsed_ns = time.perf_counter_ns() - started
        self.count(outcome, elapsed_ns)
        if self.logs is not None:
            waiting = self.logs.log(self.event(request, body, outcome, identifier, elapsed_ns))
            if waiting is not None:
                await waiting
        return Response(200, self.response_body(outcome, elapsed_ns, identifier))

    def event(
        self,
        request: Request,
        body: EvaluateRequest,
        outcome: Outcome,
        identifier: str,
        elapsed_ns: int,
        batch_id: str | None = None,
    ) -> DecisionEvent:
        decided = outcome.decided
        return DecisionEvent(
            identifier,
            self.path,
            outcome.input_json,
            decided.result if decided is not None else None,
            time.time_ns(),
            elapsed_ns,
            request.scope.get("client"),
            decided.revision if decided is not None else "",
            outcome.cache_hit,
            decided.tier if decided is not None else "",
            body.agent_id,
            request_id(request),
            batch_id,
            outcome.error,
        )

    @staticmethod
    def response_body(outcome: "Outcome", elapsed_ns: int, identifier: str) -> bytes:
        return b'{%b,"evaluation_time_ms":%d,"evaluation_time_us":%.1f,"cache_hit":%b,"decision_id":"%b"}' % (
            outcome.fields,
            elapsed_ns // 1_000_000,
            elapsed_ns / 1000,
            b"true" if outcome.cache_hit else b"false",
            identifier.encode(),
        )

    def count(self, outcome: Outcome, elapsed_ns: int) -> None:
        if outcome.failed:
            self.metrics.failed()
        else:
            self.metrics.decided(outcome.allow, outcome.cache_hit, elapsed_ns / 1e9)

    async def decide(self, body: EvaluateRequest, evaluation_id: str) -> Outcome:
        """The API's decision fields for a request; fails closed."""
        input_json = None
        try:
            input_json = opa_input(body, evaluation_id)
            decided = await self.decisions.decide(self.query, input_json, body.action)
            if decided.result is None:
                outcome = _failed("the decision is undefined")
            else:
                fields, allow = self._fields(decided.result)
                outcome = Outcome(fields, allow, False, decided.cache_hit, decided=decided)
        except Exception as exc:  # fail closed on anything: a bug must not become an allow or a 500
            outcome = _failed(public_message(exc, evaluation_id))
        outcome.input_json = input_json
        return outcome

    def _fields(self, result: bytes) -> tuple[bytes, bool]:
        found = self._fragments.get(result)
        if found is None:
            fields = decision_fields(result)
            if len(self._fragments) >= FRAGMENT_CACHE_SIZE:
                self._fragments.clear()
            found = self._fragments[result] = (orjson.dumps(fields)[1:-1], fields["allow"])
        return found
