"""OPA's own topdown test cases, answered by the embedded engine and by `opa eval`, compared.

The cases are the YAML files of OPA's `v1/test/cases/testdata/v1`, from the Go module cache
of the OPA version the bridge pins. Each case becomes a bundle directory (its modules as
.rego files, its data as data.json), which the engine loads as it loads any bundle and which
`opa eval --bundle` loads too: the oracle is real OPA on the same bundle, input and query,
never the YAML's `want_result` alone.

The engine answers the first expression of the first result only, while a test query binds
variables and OPA's tests compare every binding of every result. So both sides evaluate the
query wrapped in an array comprehension over its bindings, `[{"x": x} | QUERY]`, whose one
value is the whole result set. The binding names are the query's own variables, read from
OPA's parse of it (rego.parse_module), as OPA's result binds them: top-level, not generated,
not inside a comprehension or `every`. (Checked once: they equal the names `opa eval` binds
on each of the 2005 cases whose plain query has a result; a plain query that errors or is
undefined binds none, which is why they do not come from there.)
An array, not a set: the engine writes arrays and objects itself, but hands a set to OPA's
own conversion, which would leave its writer out of the comparison.

Run every case and print the report: `.venv/bin/python -m tests.engine.conformance`.
PE_CONFORMANCE_CASES=DIR reads the cases from DIR instead of the module cache.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policy_engine.bundle.locate import REPO_ROOT, opa_binary
from policy_engine.engine.engine import Engine
from policy_engine.engine.errors import EngineError

OPA_TIMEOUT_S = 60
WORKERS = 2

# Why a case is not compared. Each is something the engine's interface cannot express.
SKIP_REASONS: dict[str, str] = {
    "strict_error": "needs strict builtin errors (opa eval --strict-builtin-errors), which the engine does not expose",
    "input_term": "input_term is not JSON (sets or other Rego terms): the engine takes JSON input only",
    "env": "needs environment variables set in the evaluating process (the bridge reads its own at load)",
    "experimental_keywords": "needs capabilities with experimental keywords, which the engine does not expose",
    "load_error_both": "neither side loads it as a bundle: data that overlaps a rule (OPA's runner keeps data "
    "and rules apart, a bundle may not), or a builtin only OPA's test binary registers (test.sleep)",
    "runtime": "calls opa.runtime(), whose `env` is the evaluating process's environment: the test process's "
    "(pytest sets COLUMNS, PYTEST_CURRENT_TEST) is not `opa eval`'s",
    "no_cases": "OPA's test cases are not in the Go module cache (build the bridge: make setup)",
}

# Reads the YAML with OPA's own YAML decoder (the one its test runner uses), hands data and
# input over as OPA's JSON text, so that no number goes through Python's floats on the way,
# and parses each query (as a rule body) for its variables.
_LOAD_QUERY = r"""cases := [c |
  some file, text in input
  some index, raw in yaml.unmarshal(text).cases
  texts := {k: json.marshal(raw[k]) | some k in ["data", "input"]; k in object.keys(raw)}
  module := concat("", ["package q\nq if {\n", raw.query, "\n}\n"])
  body := [b | b := rego.parse_module("q.rego", module).rules[0].body]
  extra := {"file": file, "index": index, "json": texts, "body": body}
  c := object.union(object.remove(raw, ["data", "input", "want_result"]), extra)
]"""

_CLOSURES = ("arraycomprehension", "setcomprehension", "objectcomprehension")


@dataclass(frozen=True)
class Case:
    """One test case of OPA's YAML files, with data and input kept as OPA's JSON text."""

    file: str
    index: int
    note: str
    query: str
    modules: tuple[str, ...] = ()
    data_json: str | None = None
    input_json: str | None = None
    input_term: str | None = None
    strict_error: bool = False
    experimental_keywords: bool = False
    env: tuple[tuple[str, str], ...] = ()
    names: tuple[str, ...] = ()  # the variables a result binds

    @property
    def id(self) -> str:
        return f"{self.file}#{self.index}"

    @classmethod
    def from_opa(cls, raw: dict) -> "Case":
        return cls(
            file=raw["file"],
            index=raw["index"],
            note=raw["note"],
            query=raw["query"],
            modules=tuple(raw.get("modules") or ()),
            data_json=_present(raw["json"].get("data")),
            input_json=_present(raw["json"].get("input")),
            input_term=raw.get("input_term"),
            strict_error=bool(raw.get("strict_error")),
            experimental_keywords=bool(raw.get("experimental_keywords")),
            env=tuple(sorted((raw.get("env") or {}).items())),
            names=output_vars(raw["body"][0]) if raw["body"] else (),
        )


def output_vars(body: list[dict]) -> tuple[str, ...]:
    """The variables OPA binds in a result of a query, from the query's AST (as JSON)."""
    found: set[str] = set()
    for expr in body:
        terms = expr["terms"]
        if isinstance(terms, list):  # a call: its operator is no variable
            _term_vars(terms[1:], found)
        elif "symbols" in terms:  # some x / some x in xs
            _term_vars(terms["symbols"], found)
        elif "domain" in terms:  # every: its key and value are its own
            _term_vars([terms["domain"]], found)
        else:
            _term_vars([terms], found)
    generated = ("$", "__local")
    return tuple(sorted(n for n in found if not n.startswith(generated) and n not in ("input", "data")))


def _term_vars(terms: list[dict | None], found: set[str]) -> None:
    """Variables of terms, leaving out comprehensions (their own scope), refs' heads and operators."""
    for term in terms:
        if term is None or term["type"] in _CLOSURES:
            continue
        kind, value = term["type"], term["value"]
        if kind == "var":
            found.add(value)
        elif kind == "ref":
            _term_vars(value[1:] if value[0]["type"] == "var" else value, found)
        elif kind == "call":
            _term_vars(value[1:], found)
        elif kind in ("array", "set"):
            _term_vars(value, found)
        elif kind == "object":
            _term_vars([x for pair in value for x in pair], found)


def _present(text: str | None) -> str | None:
    """None for `null`: OPA's runner reads `data: null` and `input: null` as no data, no input."""
    return None if text == "null" else text


@dataclass(frozen=True)
class Num:
    """A JSON number as its text: `1`, `1.0` and `1e0` are different answers here."""

    text: str


@dataclass(frozen=True)
class Answer:
    """What one side answered: a value, undefined, an error, or bytes that are not JSON."""

    kind: str  # "value", "undefined", "error" or "invalid_json"
    value: Any = None
    text: str = field(default="", compare=False)
    phase: str = field(default="", compare=False)  # errors: "load" (bundle or query) or "eval"

    def short(self, limit: int = 300) -> str:
        body = self.text if len(self.text) <= limit else self.text[:limit] + "..."
        return f"{self.kind}{f' ({self.phase})' if self.phase else ''}: {body}" if body else self.kind


@dataclass(frozen=True)
class Outcome:
    """One case compared: equal, different, or skipped with a key of SKIP_REASONS."""

    case: Case
    status: str
    reason: str = ""
    query: str = ""
    engine: Answer | None = None
    opa: Answer | None = None

    def describe(self) -> str:
        if self.status == "skipped":
            return f"{self.case.id} {self.case.note}: skipped, {SKIP_REASONS[self.reason]}"
        assert self.engine is not None and self.opa is not None
        return (
            f"{self.case.id} {self.case.note}: {self.status}\n  query: {self.query!r}\n"
            f"  engine: {self.engine.short()}\n  opa:    {self.opa.short()}"
        )


def opa_version() -> str:
    """The OPA version the bridge is built with, from bridge/go.mod: its cases are the ones to run."""
    text = (REPO_ROOT / "bridge" / "go.mod").read_text()
    found = re.search(r"github\.com/open-policy-agent/opa (v\S+)", text)
    if found is None:
        raise ValueError("bridge/go.mod does not require github.com/open-policy-agent/opa")
    return found.group(1)


def cases_dir() -> Path | None:
    """OPA's v1 test case directory in the Go module cache, or None when there is none."""
    override = os.environ.get("PE_CONFORMANCE_CASES")
    if override:
        return Path(override) if Path(override).is_dir() else None
    try:
        modcache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    found = Path(modcache.strip()) / f"github.com/open-policy-agent/opa@{opa_version()}/v1/test/cases/testdata/v1"
    return found if found.is_dir() else None


def load_cases(directory: Path, opa: str) -> list[Case]:
    """Every case of every YAML file under `directory`, in a stable order (one `opa eval`)."""
    texts = {str(p.relative_to(directory)): p.read_text() for p in sorted(directory.rglob("*.yaml"))}
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="pe-conf-cases-") as inputs:
        json.dump(texts, inputs)
        inputs.flush()
        done = subprocess.run(
            [opa, "eval", "--format", "json", "--input", inputs.name, _LOAD_QUERY],
            capture_output=True,
            text=True,
            check=True,
            timeout=OPA_TIMEOUT_S,
        )
    raw = json.loads(done.stdout)["result"][0]["bindings"]["cases"]
    return sorted((Case.from_opa(c) for c in raw), key=lambda c: (c.file, c.index))


def available_cases() -> tuple[list[Case], str]:
    """All cases, or none and the reason why they cannot be had here."""
    directory = cases_dir()
    if directory is None:
        return [], SKIP_REASONS["no_cases"]
    try:
        opa = opa_binary()
    except FileNotFoundError as exc:
        return [], str(exc)
    return load_cases(directory, opa), ""


def sample(cases: Sequence[Case], every: int = 16) -> list[Case]:
    """Every `every`-th case: the same cases on every run, spread over all the builtins' files."""
    return list(cases[::every])


def skip_reason(case: Case) -> str:
    """The key of SKIP_REASONS that rules the case out before it runs, or ""."""
    if case.env:
        return "env"
    if case.experimental_keywords:
        return "experimental_keywords"
    if case.strict_error:
        return "strict_error"
    if case.input_term is not None and not _is_json(case.input_term):
        return "input_term"
    if any("opa.runtime" in text for text in (case.query, *case.modules)):
        return "runtime"
    return ""


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def decode(text: str | bytes) -> Any:
    """JSON with every number kept as its text (Num), so that formatting differences count."""
    return json.loads(text, parse_int=Num, parse_float=Num, parse_constant=Num)


def input_of(case: Case) -> str | None:
    """The case's input as JSON text: input_term verbatim when it is JSON, else OPA's text of input."""
    return case.input_term if case.input_term is not None else case.input_json


def write_case(case: Case, root: Path) -> tuple[Path, Path | None]:
    """The bundle directory and the input file (outside the bundle: it is not data) of a case."""
    bundle = root / "bundle"
    bundle.mkdir()
    for i, module in enumerate(case.modules):
        (bundle / f"test-{i}.rego").write_text(module)
    if case.data_json is not None:
        (bundle / "data.json").write_text(case.data_json)
    text = input_of(case)
    if text is None:
        return bundle, None
    path = root / "input.json"
    path.write_text(text)
    return bundle, path


def _opa_eval(opa: str, bundle: Path, input_path: Path | None, query: str) -> subprocess.CompletedProcess | None:
    """`opa eval --bundle` of the query, as the CLI answers it; None when it ran out of time."""
    argv = [opa, "eval", "--format", "json", "--bundle", str(bundle)]
    if input_path is not None:
        argv += ["--input", str(input_path)]
    try:
        return subprocess.run(
            [*argv, query], capture_output=True, encoding="utf-8", errors="replace", timeout=OPA_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return None


def run_opa(opa: str, bundle: Path, input_path: Path | None, query: str) -> Answer:
    """The oracle's answer: the first expression's value, as the engine answers it."""
    done = _opa_eval(opa, bundle, input_path, query)
    if done is None:
        return Answer("error", text="timeout", phase="eval")
    try:
        doc = decode(done.stdout)
    except ValueError:
        return Answer("error", text=(done.stderr or done.stdout).strip(), phase="eval")
    if doc.get("errors") or done.returncode != 0:
        return _opa_error(doc.get("errors") or [], done.stderr)
    results = doc.get("result") or []
    if not results:
        return Answer("undefined")
    value = results[0]["expressions"][0]["value"]
    return Answer("value", value, encode(value))


def _opa_error(errors: list[dict], stderr: str) -> Answer:
    """An `opa eval` error; compile-time (`rego_*` codes, no code: the loader) is the load phase."""
    codes = [e.get("code", "") for e in errors]
    phase = "eval" if codes and all(c.startswith("eval_") for c in codes) else "load"
    text = "; ".join(f"{e.get('code', '')}: {e.get('message', '')}" for e in errors) or stderr.strip()
    return Answer("error", text=text, phase=phase)


def encode(value: Any) -> str:
    """Compact JSON of a decoded value, numbers written as their text (for the report)."""
    if isinstance(value, Num):
        return value.text
    if isinstance(value, list):
        return "[" + ",".join(encode(x) for x in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def wrap(query: str, names: Sequence[str]) -> str:
    """The query as one array comprehension whose value is its whole result set, in OPA's order."""
    term = "{" + ", ".join(f"{json.dumps(n)}: {n}" for n in names) + "}"
    return f"[{term} |\n{query}\n]"


def run_engine(bundle: Path, query: str, input_json: str | None) -> Answer:
    """The embedded engine's answer. The query is prepared after loading, so that a query that
    fails to compile still lets the loaded bundle be closed."""
    try:
        engine = Engine(bundle, query="true")
    except EngineError as exc:
        return Answer("error", text=f"{exc.code}: {exc.message}", phase="load")
    try:
        prepared = engine.prepare(query)
    except EngineError as exc:
        engine.close()
        return Answer("error", text=f"{exc.code}: {exc.message}", phase="load")
    try:
        out = prepared.evaluate_json(None if input_json is None else input_json.encode())
    except EngineError as exc:
        return Answer("error", text=f"{exc.code}: {exc.message}", phase="eval")
    finally:
        engine.close()
    if out is None:
        return Answer("undefined")
    try:
        return Answer("value", decode(out), out.decode(errors="replace"))
    except ValueError:
        return Answer("invalid_json", out.decode(errors="replace"), out.decode(errors="replace"))


def compare(case: Case, query: str, ours: Answer, theirs: Answer) -> Outcome:
    """Equal when both are undefined, both errors (whatever the text), or the same value."""
    if ours.kind == theirs.kind == "error":
        if ours.phase == theirs.phase == "load":
            return Outcome(case, "skipped", "load_error_both", query, ours, theirs)
        return Outcome(case, "equal", "", query, ours, theirs)
    return Outcome(case, "equal" if ours == theirs else "different", "", query, ours, theirs)


def run_case(case: Case, opa: str) -> Outcome:
    """One case on both sides, in its own temporary bundle directory."""
    reason = skip_reason(case)
    if reason:
        return Outcome(case, "skipped", reason)
    with tempfile.TemporaryDirectory(prefix="pe-conf-") as tmp:
        bundle, input_path = write_case(case, Path(tmp))
        query = wrap(case.query, case.names)
        theirs = run_opa(opa, bundle, input_path, query)
        ours = run_engine(bundle, query, input_of(case))
    return compare(case, query, ours, theirs)


def run_cases(cases: Sequence[Case], workers: int = WORKERS) -> list[Outcome]:
    """Every case, `workers` at a time: each spends most of its time waiting for `opa eval`."""
    opa = opa_binary()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda case: run_case(case, opa), cases))


def report(outcomes: Sequence[Outcome]) -> str:
    """Counts of equal, different and skipped (by reason), then every difference in full."""
    counts = Counter(o.status for o in outcomes)
    reasons = Counter(o.reason for o in outcomes if o.status == "skipped")
    total = f"{len(outcomes)} cases: {counts['equal']} equal, {counts['different']} different"
    lines = [f"{total}, {counts['skipped']} skipped"]
    lines += [f"  skipped {n:4d} {reason}: {SKIP_REASONS[reason]}" for reason, n in sorted(reasons.items())]
    lines += ["", *(o.describe() for o in outcomes if o.status == "different")]
    return "\n".join(lines)


def main() -> int:
    cases, why = available_cases()
    if not cases:
        print(why)
        return 1
    outcomes = run_cases(cases)
    print(report(outcomes))
    return 1 if any(o.status == "different" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
