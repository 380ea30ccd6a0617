"""`policy-engine replay FILE... --against URL|BUNDLE`: logged decisions asked again elsewhere.

Each logged event's input goes to another OPA (its Data API, at the event's path) or to a
candidate bundle in the embedded engine; the answers are compared with the logged results and
the differences summarised by rule and by violation, with examples. Run it before switching
traffic to a new engine, or before shipping a new policy.
"""

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from policy_engine import jsontext
from policy_engine.decision_logs.chain import chronological
from policy_engine.decision_logs.shadow import DataApiClient, same_result

Decide = Callable[[str, bytes | None], bytes | None]
EXAMPLES = 5


def events(paths: list[str]) -> Iterator[dict]:
    """The logged events (lines that are not JSON objects are skipped), numbers kept exact."""
    for path in chronological(paths):
        with open(path, "rb") as f:
            for line in f:
                try:
                    event = jsontext.exact_loads(line)
                except (ValueError, UnicodeDecodeError):
                    continue
                if isinstance(event, dict) and "path" in event:
                    yield event


def query_of(path: str) -> str:
    """acgs/constitutional/evaluate -> data.acgs.constitutional.evaluate (quoted where needed)."""
    query = "data"
    for segment in (s for s in path.split("/") if s):
        query += f".{segment}" if segment.isidentifier() else f"[{json.dumps(segment)}]"
    return query


def against(target: str) -> tuple[str, Decide]:
    """(a name, the decide function) for an OPA URL or a bundle directory/.tar.gz."""
    if target.startswith(("http://", "https://")):
        client = DataApiClient(target, timeout=10.0)
        return target, client.decide
    from policy_engine.engine.engine import Engine

    if not Path(target).exists():
        raise FileNotFoundError(f"no bundle at {target}")
    engine = Engine(target)

    def decide(path: str, input_json: bytes | None) -> bytes | None:
        return engine.prepare(query_of(path)).evaluate_json(input_json)

    return f"bundle {target} (revision {engine.manifest_revision or engine.revision[:12]})", decide


@dataclass
class Summary:
    total: int = 0
    same: int = 0
    skipped: int = 0  # no input to replay (erased by a mask, or none was given)
    masked: int = 0  # replayed with a masked input: a difference may come from the mask
    errors: int = 0
    rules: Counter = field(default_factory=Counter)  # (logged rule, replayed rule) -> count
    added: Counter = field(default_factory=Counter)  # violations the replay adds
    removed: Counter = field(default_factory=Counter)  # violations the replay no longer finds
    examples: list[dict] = field(default_factory=list)

    @property
    def different(self) -> int:
        return self.total - self.same - self.skipped - self.errors


def _field(result: Any, name: str) -> Any:
    return result.get(name) if isinstance(result, dict) else None


def _violations(result: Any) -> set[str]:
    found = _field(result, "violations")
    return {str(v) for v in found} if isinstance(found, list) else set()


def replay(paths: list[str], decide: Decide) -> Summary:
    summary = Summary()
    for event in events(paths):
        summary.total += 1
        if "input" not in event:
            summary.skipped += 1
            continue
        if event.get("erased") or event.get("masked"):
            summary.masked += 1
        logged = jsontext.exact_dumps(event["result"]) if "result" in event else None
        try:
            replayed = decide(str(event["path"]), jsontext.exact_dumps(event["input"]))
        except Exception as exc:  # one event's failure is counted, the replay goes on
            summary.errors += 1
            if len(summary.examples) < EXAMPLES:
                summary.examples.append({"decision_id": event.get("decision_id"), "error": str(exc)})
            continue
        if same_result(logged, replayed):
            summary.same += 1
            continue
        before = orjson.loads(logged) if logged is not None else None
        after = orjson.loads(replayed) if replayed is not None else None
        summary.rules[(str(_field(before, "rule")), str(_field(after, "rule")))] += 1
        summary.added.update(_violations(after) - _violations(before))
        summary.removed.update(_violations(before) - _violations(after))
        if len(summary.examples) < EXAMPLES:
            summary.examples.append(
                {"decision_id": event.get("decision_id"), "path": event["path"], "logged": before, "replayed": after}
            )
    return summary


def report(summary: Summary, name: str, out: IO[str]) -> None:
    print(f"replayed {summary.total} events against {name}", file=out)
    print(
        f"  same: {summary.same}  different: {summary.different}  errors: {summary.errors}"
        f"  skipped (no input): {summary.skipped}  masked inputs: {summary.masked}",
        file=out,
    )
    if summary.rules:
        print("differences by rule (logged -> replayed):", file=out)
        for (before, after), count in summary.rules.most_common():
            print(f"  {before} -> {after}: {count}", file=out)
    for title, counts in (("violations added", summary.added), ("violations removed", summary.removed)):
        if counts:
            print(f"{title}:", file=out)
            for violation, count in counts.most_common():
                print(f"  {violation}: {count}", file=out)
    if summary.examples:
        print("examples:", file=out)
        for example in summary.examples:
            print("  " + orjson.dumps(example).decode(), file=out)


def main(paths: list[str], target: str, out: IO[str] = sys.stdout) -> int:
    name, decide = against(target)
    summary = replay(paths, decide)
    report(summary, name, out)
    return 0 if summary.different == 0 and summary.errors == 0 else 1
