"""Every answer is the answer `opa` gives, for any policy, through every path.

Each bundle of tests/support/corpus attacks one way the engine could answer differently from
OPA (a read the key projection misses, a residual that folds what it must not, a number a
float rounds). For each, one `opa run --server` is the oracle and `policy-engine serve` runs
in several configurations; every perturbed body (tests/support/perturb.py) goes through the
ACGS API, OPA's Data API v1 and v0, and both batch APIs, and every answer is compared with
OPA's, numbers as their JSON text.
"""

import contextlib
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_engine.bench import servers
from policy_engine.bench.opa_server import opa_server
from tests.support.perturb import (
    EDGE_NUMBERS,
    Json,
    Number,
    Perturbed,
    Raw,
    corpus_sequence,
    dumps,
    kind,
    loads,
    to_bytes,
)

# Answers echo inputs nested 1,100 deep (perturb.DEEP); Python's parser recurses per level.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

CORPUS = Path(__file__).resolve().parents[1] / "support" / "corpus"
DATA_PATH = "/v1/data/acgs/constitutional/evaluate"
V0_PATH = "/v0/data/acgs/constitutional/evaluate"
BATCH_DATA_PATH = "/v1/batch/data/acgs/constitutional/evaluate"
NONDETERMINISTIC = "# oracle: nondeterministic"
# The service gives each request its own id and time; the corpus never reads them.
EVALUATION_ID = "00000000-0000-4000-8000-000000000000"
TIMESTAMP = "2026-01-01T00:00:00+00:00"

CONFIGS: dict[str, tuple[str, ...]] = {
    "default": (),
    "no-cache": ("--no-cache",),
    "no-partial-eval": ("--no-partial-eval",),
    "batch-window": ("--batch-window-us", "2000"),
}
CONCURRENCY = {"batch-window": 8}  # single requests in flight at once; 1 elsewhere
BATCH_CHUNK = 250
# Every eighth one-place edit of each base body, a different eighth for each bundle: the
# corpus as a whole sends every edit, and a bundle's run stays short.
STRIDE = 8


def is_nondeterministic(bundle: Path) -> bool:
    return any(NONDETERMINISTIC in rego.read_text() for rego in bundle.rglob("*.rego"))


BUNDLES = sorted(p for p in CORPUS.iterdir() if p.is_dir())
EXACT_BUNDLES = [b for b in BUNDLES if not is_nondeterministic(b)]
NONDETERMINISTIC_BUNDLES = [b for b in BUNDLES if is_nondeterministic(b)]


# --- talking HTTP in raw bytes (the client's own JSON handling never touches a number) ---


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    body: Json  # parsed, numbers as their text; None when it is not JSON (or is null): compare the text


def answer(status: int, raw: bytes) -> Answer:
    text = raw.decode(errors="replace")
    try:
        return Answer(status, text, loads(raw))
    except (ValueError, RecursionError):
        return Answer(status, text, None)


class Client:
    """One keep-alive connection; POSTs bytes, answers exactly what came back."""

    def __init__(self, base_url: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.conn = HTTPConnection(host, int(port), timeout=30)

    def post(self, path: str, body: bytes) -> Answer:
        self.conn.request("POST", path, body, {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        return answer(response.status, response.read())


def post_all(base_url: str, path: str, bodies: list[bytes], concurrency: int = 1) -> list[Answer]:
    """Answers in order; with concurrency > 1, that many requests in flight at once."""
    if concurrency == 1:
        client = Client(base_url)
        return [client.post(path, body) for body in bodies]
    local = threading.local()

    def post(body: bytes) -> Answer:
        if not hasattr(local, "client"):
            local.client = Client(base_url)
        return local.client.post(path, body)

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(post, bodies))


# --- what the service sends OPA for an ACGS body (API.md), and what it must answer ---


def opa_input(body: Json) -> dict:
    """The input document the service builds from an ACGS body, with fixed id and time."""
    body = body if isinstance(body, dict) else {}
    context = body.get("context", {})
    agent_id = body.get("agent_id")
    if agent_id is None and isinstance(context, dict) and context:
        agent = context.get("agent")
        if isinstance(agent, dict) and kind(agent.get("id")) == "string":
            agent_id = agent["id"]
    return {
        "action": body.get("action"),
        "agent_id": agent_id,
        "data": body.get("input_data", {}),
        "context": context,
        "evaluation_id": EVALUATION_ID,
        "timestamp": TIMESTAMP,
    }


def acgs_valid(body: Json) -> bool:
    """The body passes the ACGS API's schema (else: 422)."""
    return (
        isinstance(body, dict)
        and kind(body.get("action")) == "string"
        and kind(body.get("agent_id")) in ("null", "string")
        and kind(body.get("input_data", {})) == "object"
        and kind(body.get("context", {})) in ("null", "object")
    )


FAILS_CLOSED = {"allow": False, "violations": ["evaluation_error"]}


def acgs_expected(opa: Answer) -> dict:
    """The ACGS fields OPA's decision document gives (API.md's defaults; a violation that is not
    a string as its JSON text); fails closed when the decision is an error, undefined or not an
    object. A reason that is neither a string nor null is not compared (API.md has none)."""
    document = opa.body.get("result") if opa.status == 200 and isinstance(opa.body, dict) else None
    if not isinstance(document, dict):
        return FAILS_CLOSED
    violations = document.get("violations", [])
    violations = violations if isinstance(violations, list) else [violations]
    confidence = document.get("confidence_score")
    expected = {
        "allow": document.get("allow") is True,
        "violations": [v if isinstance(v, str) else dumps(v) for v in violations],
        "confidence_score": confidence if isinstance(confidence, Number) else None,
    }
    reason = document.get("reason")
    if reason is None or isinstance(reason, str):
        expected["reason"] = reason
    return expected


def acgs_actual(ours: Json, expected: dict) -> dict:
    """Our answer's fields, those that `expected` names."""
    if not isinstance(ours, dict):
        return {"not an object": ours}
    return {field: ours.get(field) for field in expected}


_IDS = re.compile(r',?"(batch_)?decision_id":"[^"]*"')


def data_view(answer: Answer) -> Json:
    """What must match in a Data API answer: status, and the result (or its absence) or the error code."""
    if answer.body is None:
        return {"status": answer.status, "text": _IDS.sub("", answer.text).strip()}
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status == 200:
        return {"status": 200, "result": body.get("result", "<undefined>")}
    return {"status": answer.status, "code": body.get("code")}


def shown(answer: Answer) -> Json:
    """data_view, with the error message (for the report only: OPA's messages differ in words)."""
    view = data_view(answer)
    if "code" in view and isinstance(answer.body, dict):
        view["message"] = str(answer.body.get("message", ""))[:160]
    return view


def v0_view(answer: Answer) -> Json:
    if answer.status == 200 and answer.body is not None:
        return {"status": 200, "result": answer.body}
    return data_view(answer)


def batch_item_view(item: Json) -> Json:
    """An item of a batch Data answer in data_view's terms."""
    if not isinstance(item, dict):
        return {"item": item}
    if "code" in item:
        status = item.get("http_status_code", "500")
        return {"status": int(status.text if isinstance(status, Number) else status), "code": item["code"]}
    return {"status": 200, "result": item.get("result", "<undefined>")}


# --- one wrong answer, and the failure message that lists them all ---


@dataclass(frozen=True)
class Wrong:
    endpoint: str
    input: str
    ours: str
    opa: str


def wrong(endpoint: str, sent: str, ours: Json, opa: Json) -> Wrong:
    """`sent`: what was sent, as Case.shown writes it (or words for a whole batch)."""
    return Wrong(endpoint, _short(sent, 240), _short(dumps(ours), 240), _short(dumps(opa), 240))


_RUNS = re.compile(r"(\[{12,}|\]{12,})")


def _printable(text: str) -> str:
    """Bytes that are not UTF-8 (carried as surrogate escapes) shown as \\xNN."""
    try:
        return text.encode(errors="surrogateescape").decode(errors="backslashreplace")
    except UnicodeEncodeError:
        return text.encode(errors="backslashreplace").decode()


def _short(text: str, limit: int) -> str:
    text = _printable(text)
    text = _RUNS.sub(lambda m: f"<{len(m.group())}x{m.group()[0]}>", text)  # [[[[... as <1100x[>
    return text if len(text) <= limit else text[:limit] + f"...(+{len(text) - limit})"


def report(bundle: str, wrongs: dict[str, list[Wrong]]) -> str:
    """Each wrong answer once, with every configuration that gave it."""
    configs_of: dict[Wrong, list[str]] = {}
    for config, found in wrongs.items():
        for w in dict.fromkeys(found):
            configs_of.setdefault(w, []).append(config)
    lines = [f"{bundle}: {len(configs_of)} answers differ from opa's"]
    for w, configs in configs_of.items():
        lines.append(f"  [{','.join(configs)}] {w.endpoint} input={w.input}\n      ours={w.ours}\n      opa ={w.opa}")
    return "\n".join(lines)


# --- the cases and the oracle ---


@dataclass(frozen=True)
class Case:
    """A perturbed ACGS body and the OPA input it becomes, as JSON text; the input also split
    into a batch's common_input and the item's own part."""

    label: str
    body: Json
    text: str
    input: str
    common: str
    own: str

    def shown(self, text: str) -> str:
        """What a report says was sent: how the body was made, and the text."""
        return f"<{self.label}> {text}"


COMMON_FIELDS = ("context", "evaluation_id", "timestamp")


def case(perturbed: Perturbed) -> Case:
    document = opa_input(perturbed.body)
    common = {k: v for k, v in document.items() if k in COMMON_FIELDS}
    own = {k: v for k, v in document.items() if k not in COMMON_FIELDS}
    return Case(perturbed.label, perturbed.body, dumps(perturbed.body), dumps(document), dumps(common), dumps(own))


def data_request(input_text: str) -> bytes:
    return to_bytes('{"input":' + input_text + "}")


@dataclass
class Oracle:
    v1: dict[str, Answer]  # by the input's JSON text
    v0: dict[str, Answer]


def ask_opa(opa_url: str, inputs: list[str]) -> Oracle:
    distinct = list(dict.fromkeys(inputs))
    v1 = post_all(opa_url, DATA_PATH, [data_request(i) for i in distinct])
    v0 = post_all(opa_url, V0_PATH, [to_bytes(i) for i in distinct])
    return Oracle(dict(zip(distinct, v1, strict=True)), dict(zip(distinct, v0, strict=True)))


# --- the checks, one API at a time ---


@dataclass
class Run:
    """One configuration's service, the cases it is sent and the oracle's answers."""

    url: str
    concurrency: int
    cases: list[Case]
    oracle: Oracle


def check_evaluate(run: Run) -> list[Wrong]:
    answers = post_all(run.url, "/v1/evaluate", [to_bytes(c.text) for c in run.cases], run.concurrency)
    return [
        w
        for c, ours in zip(run.cases, answers, strict=True)
        if (w := evaluate_wrong("/v1/evaluate", c, ours.status, ours.body, run.oracle.v1[c.input])) is not None
    ]


def evaluate_wrong(endpoint: str, c: Case, status: int, ours: Json, opa: Answer) -> Wrong | None:
    """None when an ACGS answer is right: 422 for a body the schema refuses, else OPA's decision.
    An input OPA itself refuses to read (400) may be refused as the body (422) or fail closed."""
    if not acgs_valid(c.body) or (opa.status == 400 and status == 422):
        if status == 422:
            return None
        return wrong(endpoint, c.shown(c.text), {"status": status, "body": ours}, {"status": 422})
    expected = acgs_expected(opa)
    actual = acgs_actual(ours, expected) if status == 200 else {"status": status, "body": ours}
    return None if actual == expected else wrong(endpoint, c.shown(c.text), actual, expected)


def check_data_v1(run: Run) -> list[Wrong]:
    answers = post_all(run.url, DATA_PATH, [data_request(c.input) for c in run.cases], run.concurrency)
    return [
        wrong(DATA_PATH, c.shown(c.input), shown(answer), opa)
        for c, answer in zip(run.cases, answers, strict=True)
        if data_view(answer) != (opa := data_view(run.oracle.v1[c.input]))
    ]


def check_data_v0(run: Run) -> list[Wrong]:
    answers = post_all(run.url, V0_PATH, [to_bytes(c.input) for c in run.cases], run.concurrency)
    return [
        wrong(V0_PATH, c.shown(c.input), shown(answer) if answer.status != 200 else v0_view(answer), opa)
        for c, answer in zip(run.cases, answers, strict=True)
        if v0_view(answer) != (opa := v0_view(run.oracle.v0[c.input]))
    ]


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check_batch_data(run: Run) -> list[Wrong]:
    return [w for cases in chunks(run.cases, BATCH_CHUNK) for w in batch_data_wrongs(run, cases, common=False)]


def check_batch_data_common_input(run: Run) -> list[Wrong]:
    """Each case split into common_input and its own part (no field in both): the merge is the input."""
    by_common: dict[str, list[Case]] = {}
    for c in run.cases:
        by_common.setdefault(c.common, []).append(c)
    return [w for cases in by_common.values() for w in batch_data_wrongs(run, cases, common=True)]


def batch_data_text(cases: list[Case], common: bool) -> str:
    if not common:
        return '{"inputs":{' + ",".join(f'"{n}":{c.input}' for n, c in enumerate(cases)) + "}}"
    own = ",".join(f'"{n}":{c.own}' for n, c in enumerate(cases))
    return '{"common_input":' + cases[0].common + ',"inputs":{' + own + "}}"


def batch_data_wrongs(run: Run, cases: list[Case], common: bool) -> list[Wrong]:
    """A batch answers each input as OPA does, 207 when any of them fails. A batch refused
    whole is one wrong answer, and then each input is asked alone, to say which it refuses."""
    endpoint = BATCH_DATA_PATH + (" (common_input)" if common else "")
    text = batch_data_text(cases, common)
    ours = Client(run.url).post(BATCH_DATA_PATH, to_bytes(text))
    expected = [data_view(run.oracle.v1[c.input]) for c in cases]
    responses = ours.body.get("responses") if isinstance(ours.body, dict) else None
    if ours.status not in (200, 207) or not isinstance(responses, dict):
        if len(cases) == 1:  # a refusal is right where OPA refuses the input alone
            if data_view(ours) == expected[0]:
                return []
            return [wrong(endpoint, cases[0].shown(text), shown(ours), expected[0])]
        refused = wrong(endpoint, f"a batch of {len(cases)}", shown(ours), "200 or 207")
        return [refused] + [w for c in cases for w in batch_data_wrongs(run, [c], common)]
    found = []
    status = 207 if any(e["status"] != 200 for e in expected) else 200
    if ours.status != status:
        found.append(wrong(endpoint, f"a batch of {len(cases)}", ours.status, status))
    for n, c in enumerate(cases):
        item = batch_item_view(responses.get(str(n), "<missing>"))
        if item != expected[n]:
            found.append(wrong(endpoint, c.shown(c.input), item, expected[n]))
    return found


def check_batch_evaluate(run: Run) -> list[Wrong]:
    return [w for cases in chunks(run.cases, BATCH_CHUNK) for w in batch_evaluate_wrongs(run, cases)]


def batch_evaluate_wrongs(run: Run, cases: list[Case]) -> list[Wrong]:
    """As batch_data_wrongs, for ACGS requests: each item answers as /v1/evaluate must."""
    endpoint = "/v1/batch/evaluate"
    ours = Client(run.url).post(endpoint, to_bytes('{"requests":[' + ",".join(c.text for c in cases) + "]}"))
    responses = ours.body.get("responses") if isinstance(ours.body, dict) else None
    if ours.status != 200 or not isinstance(responses, list) or len(responses) != len(cases):
        if len(cases) == 1:
            w = evaluate_wrong(endpoint, cases[0], ours.status, ours.body, run.oracle.v1[cases[0].input])
            return [] if w is None else [w]
        refused = wrong(endpoint, f"a batch of {len(cases)}", {"status": ours.status, "body": ours.body}, 200)
        return [refused] + [w for c in cases for w in batch_evaluate_wrongs(run, [c])]
    return [
        w
        for c, item in zip(cases, responses, strict=True)
        if (w := evaluate_wrong(endpoint, c, item_status(item), item, run.oracle.v1[c.input])) is not None
    ]


def item_status(item: Json) -> int:
    """An ACGS batch item's status: its error's, else 200."""
    error = item.get("error") if isinstance(item, dict) else None
    status = error.get("status") if isinstance(error, dict) else 200
    return int(status.text) if isinstance(status, Number) else int(status)


CHECKS: tuple[Callable[[Run], list[Wrong]], ...] = (
    check_evaluate,
    check_data_v1,
    check_data_v0,
    check_batch_evaluate,
    check_batch_data,
    check_batch_data_common_input,
)


def check_config(run: Run) -> list[Wrong]:
    return [w for check in CHECKS for w in check(run)]


# --- servers ---

# Services start two at a time (a start keeps about one core busy); each configuration is
# checked while the next ones start.
STARTING = threading.Semaphore(2)


def in_every_config(bundle: Path, check: Callable[[str, str], list[Wrong]]) -> dict[str, list[Wrong]]:
    """check(config, url) against a service in each configuration, configurations side by side."""

    def one(config: str) -> list[Wrong]:
        with contextlib.ExitStack() as stack:
            with STARTING:
                try:
                    service = stack.enter_context(servers.running_service("--bundle", str(bundle), *CONFIGS[config]))
                except (RuntimeError, TimeoutError) as exc:
                    return [wrong("serve", bundle.name, {"did not start": str(exc)[-300:]}, "opa run serves it")]
            return check(config, service.url)

    with ThreadPoolExecutor(len(CONFIGS)) as pool:
        return dict(zip(CONFIGS, pool.map(one, CONFIGS), strict=True))


def bundle_offset(bundle: Path) -> int:
    return BUNDLES.index(bundle) % STRIDE


# --- the specification ---


@pytest.mark.parametrize("bundle", EXACT_BUNDLES, ids=[b.name for b in EXACT_BUNDLES])
def test_every_api_and_configuration_answers_as_opa(bundle: Path) -> None:
    cases = [case(body) for body in corpus_sequence(STRIDE, bundle_offset(bundle))]
    with opa_server(bundle) as opa_url:
        oracle = ask_opa(opa_url, [c.input for c in cases])

    def check(config: str, url: str) -> list[Wrong]:
        return check_config(Run(url, CONCURRENCY.get(config, 1), cases, oracle))

    wrongs = in_every_config(bundle, check)
    assert not any(wrongs.values()), report(bundle.name, wrongs)


# --- decisions OPA computes afresh (a builtin that is not deterministic) ---

NONDETERMINISTIC_BODIES = (
    '{"action":"compute.analyze","agent_id":"agent-1","context":{"agent":{"trust_level":0.9}}}',
    '{"action":"data.read","agent_id":"agent-2","context":{"agent":{"trust_level":0.5}}}',
    '{"action":"x.unknown","agent_id":"agent-3","context":{"agent":{"trust_level":0.5}}}',
)


def nondeterministic_wrongs(url: str, opa_url: str, cases: list[Case]) -> list[Wrong]:
    """A decision OPA computes afresh each time must not be answered twice the same."""
    found = []
    for c in cases:
        opa = [Client(opa_url).post(DATA_PATH, data_request(c.input)).text for _ in range(2)]
        if opa[0] == opa[1]:
            continue  # deterministic for this body
        for endpoint, sent in (("/v1/evaluate", to_bytes(c.text)), (DATA_PATH, data_request(c.input))):
            answers = []
            for _ in range(3):
                answers.append(Client(url).post(endpoint, sent).body)
                time.sleep(0.1)  # a residual learned meanwhile serves the next
            views = [dumps(reason_or_whole(a, endpoint)) for a in answers]
            if len(set(views)) < len(views):
                found.append(wrong(endpoint, c.shown(sent.decode()), {"answers": views}, {"fresh each time": opa}))
    return found


def reason_or_whole(answer: Json, endpoint: str) -> Json:
    """What carries the fresh value: the ACGS reason, or the whole Data API answer."""
    return answer.get("reason") if endpoint == "/v1/evaluate" and isinstance(answer, dict) else answer


@pytest.mark.parametrize("bundle", NONDETERMINISTIC_BUNDLES, ids=[b.name for b in NONDETERMINISTIC_BUNDLES])
def test_nondeterministic_decisions_are_never_served_twice(bundle: Path) -> None:
    cases = [case(Perturbed(f"body {n}", loads(b))) for n, b in enumerate(NONDETERMINISTIC_BODIES, 1)]
    with opa_server(bundle) as opa_url:
        wrongs = in_every_config(bundle, lambda config, url: nondeterministic_wrongs(url, opa_url, cases))
    assert not any(wrongs.values()), report(bundle.name, wrongs)


# --- regression: residual keys of two actions whose entrypoint hashes share 32 bits ---

# xxh3("data.acgs.constitutional.evaluate#action=" + a) starts with 948df81a for both.
COLLIDING_ACTIONS = ("compute.analyze", "x.aaaaaaacdpdvte")


def collision_wrongs(url: str, opa_url: str, order: tuple[str, ...]) -> list[Wrong]:
    """Each action asked three times with the same context, the second action after the first
    is cached; a new action's residual is learned in the background, so later asks use it."""
    found = []
    for action in order:
        body = {"action": action, "agent_id": "agent-1", "context": {"agent": {"trust_level": Number("0.9")}}}
        c = case(Perturbed(action, body))
        opa = Client(opa_url).post(DATA_PATH, data_request(c.input))
        for _ in range(3):
            ours = Client(url).post("/v1/evaluate", to_bytes(c.text))
            if (w := evaluate_wrong("/v1/evaluate", c, ours.status, ours.body, opa)) is not None:
                found.append(w)
            time.sleep(0.3)
    return found


@pytest.mark.parametrize("order", [COLLIDING_ACTIONS, COLLIDING_ACTIONS[::-1]], ids=["analyze-first", "x-first"])
def test_actions_with_colliding_entrypoint_hashes_get_their_own_decisions(order: tuple[str, ...]) -> None:
    with opa_server() as opa_url, servers.running_service() as service:
        found = collision_wrongs(service.url, opa_url, order)
    assert not found, report("default bundle", {"default": found})


# --- properties: any JSON value, echoed back, comes back as OPA writes it ---

ECHO_BUNDLE = CORPUS / "45_echo_data"


def number_texts() -> st.SearchStrategy[Number]:
    texts = st.one_of(
        st.sampled_from([n.text for n in EDGE_NUMBERS]),
        st.integers().map(str),
        st.integers(min_value=2**63 - 2, max_value=2**80).map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.decimals(allow_nan=False, allow_infinity=False).map(str),
        st.builds(lambda m, e: f"{m}e{e}", st.integers(-999, 999), st.integers(-500, 500)),
        st.builds(lambda i, f: f"{i}.{f}", st.integers(-99, 99), st.from_regex(r"\A[0-9]{25,32}\Z")),
    )
    return texts.map(Number)


def strings() -> st.SearchStrategy[str]:
    lone = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"])
    return st.one_of(
        st.text(max_size=8), st.builds(lambda a, s, b: a + s + b, st.text(max_size=3), lone, st.text(max_size=3))
    )


def invalid_utf8() -> st.SearchStrategy[Raw]:
    """Strings whose bytes are not UTF-8 (bytes 0x80-0xFF where a character should be)."""
    return st.lists(st.integers(0x80, 0xFF), min_size=1, max_size=4).map(
        lambda bs: Raw('"x' + "".join(chr(0xDC00 + b) for b in bs) + 'y"')
    )


def json_values(scalars: st.SearchStrategy[Json] | None = None) -> st.SearchStrategy[Json]:
    if scalars is None:
        scalars = st.one_of(st.none(), st.booleans(), number_texts(), strings())
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(strings(), inner, max_size=4)),
        max_leaves=8,
    )


def echo_input(value: Json, ascii: bool) -> str:
    return '{"action":"compute.analyze","data":' + dumps(value, ascii) + "}"


@pytest.fixture(scope="module")
def echo_urls() -> Iterator[tuple[str, str]]:
    """(service, opa), both serving the echo bundle."""
    with opa_server(ECHO_BUNDLE) as opa_url, servers.running_service("--bundle", str(ECHO_BUNDLE)) as service:
        yield service.url, opa_url


def data_api_wrong(urls: tuple[str, str], value: Json, ascii: bool) -> str | None:
    """Why /v1/data answers `value` echoed differently from OPA (None: it does not)."""
    service_url, opa_url = urls
    body = data_request(echo_input(value, ascii))
    ours, opa = Client(service_url).post(DATA_PATH, body), Client(opa_url).post(DATA_PATH, body)
    if data_view(ours) == data_view(opa):
        return None
    return f"/v1/data input={body[:400]!r}\nours={ours.text[:400]}\nopa ={opa.text[:400]}"


def batch_data_api_wrong(urls: tuple[str, str], values: list[Json], ascii: bool, common: Json) -> str | None:
    """Why /v1/batch/data answers differently from OPA asked for each input, merged with
    common_input (a field `common` beside each input's own), alone (None: it does not)."""
    service_url, opa_url = urls
    inputs = [echo_input(v, ascii) for v in values]
    items = ",".join(f'"{n}":{i}' for n, i in enumerate(inputs))
    text = '{"common_input":{"common":' + dumps(common, ascii) + '},"inputs":{' + items + "}}"
    ours = Client(service_url).post(BATCH_DATA_PATH, to_bytes(text))
    responses = ours.body.get("responses", {}) if isinstance(ours.body, dict) else {}
    actual = [batch_item_view(responses.get(str(n))) if responses else data_view(ours) for n in range(len(inputs))]
    merged = ['{"common":' + dumps(common, ascii) + "," + i[1:] for i in inputs]
    expected = [data_view(Client(opa_url).post(DATA_PATH, data_request(m))) for m in merged]
    if actual == expected:
        return None
    opa = [dumps(e)[:200] for e in expected]
    return f"/v1/batch/data body={_printable(text[:600])}\nours={ours.text[:600]}\nopa ={opa}"


PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(value=json_values(), ascii=st.booleans())
def test_any_value_echoed_through_the_data_api_is_opas(echo_urls: tuple[str, str], value: Json, ascii: bool) -> None:
    assert (why := data_api_wrong(echo_urls, value, ascii)) is None, why


@PROPERTY_SETTINGS
@given(values=st.lists(json_values(), min_size=1, max_size=6), ascii=st.booleans(), common=json_values())
def test_any_values_echoed_through_the_batch_data_api_are_opas(
    echo_urls: tuple[str, str], values: list[Json], ascii: bool, common: Json
) -> None:
    assert (why := batch_data_api_wrong(echo_urls, values, ascii, common)) is None, why


@PROPERTY_SETTINGS
@given(value=json_values(st.one_of(invalid_utf8(), strings())), ascii=st.booleans())
def test_strings_that_are_not_utf8_read_as_opa_reads_them(echo_urls: tuple[str, str], value: Json, ascii: bool) -> None:
    """OPA's decoder reads each byte that is not UTF-8 as U+FFFD, through either Data API."""
    why = data_api_wrong(echo_urls, value, ascii) or batch_data_api_wrong(echo_urls, [value], ascii, value)
    assert why is None, why


# --- nesting: OPA's decoder reads documents nested up to 10,000 deep ---

DEPTHS = (299, 301, 900, 1000, 1100, 5000, 9990, 10010)


def nested(depth: int) -> Raw:
    return Raw("[" * depth + "0" + "]" * depth)


@pytest.mark.parametrize("depth", DEPTHS)
def test_deeply_nested_inputs_are_answered_as_opa(echo_urls: tuple[str, str], depth: int) -> None:
    service_url, opa_url = echo_urls
    c = case(Perturbed(f"nested {depth} deep", {"action": "compute.analyze", "input_data": {"d": nested(depth)}}))
    opa = Client(opa_url).post(DATA_PATH, data_request(c.input))
    run = Run(service_url, 1, [c], Oracle({c.input: opa}, {c.input: Client(opa_url).post(V0_PATH, to_bytes(c.input))}))
    found = check_config(run)
    assert not found, report(f"nested {depth} deep", {"default": found})
