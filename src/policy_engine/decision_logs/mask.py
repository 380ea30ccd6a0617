"""Masking and dropping events as OPA does: `data.system.log.drop` and `data.system.log.mask`.

The policy sees the event as its input; `drop` true drops it; `mask` lists JSON pointers
(removed) and {"op": "remove"|"upsert", "path", "value"} operations under /input or /result,
applied in the order OPA returns them, with OPA's rules (plugins/logs/mask.go): a removal of a
path that does not exist is skipped and not recorded; an upsert creates missing objects on its
way; what was applied is listed in `erased` and `masked`. Static masks (--decision-log-mask)
are removals applied after the policy's, sorted as OPA sorts a set.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from policy_engine import jsontext
from policy_engine.engine.engine import Engine
from policy_engine.engine.errors import EngineError

log = logging.getLogger(__name__)

LOG_POLICY = "data.system.log"
PARTS = ("input", "result")
POLICY_TIMEOUT = 1.0  # seconds for the mask and drop rules of one event


@dataclass
class Rule:
    op: str  # remove or upsert
    parts: list[str]  # ["input", "a", "b"] for /input/a/b
    value: Any = None

    @property
    def pointer(self) -> str:
        return "/" + "/".join(self.parts)


@dataclass
class LogDecision:
    drop: bool = False
    rules: list[Rule] = field(default_factory=list)


def parse_rule(item: Any) -> Rule:
    """A mask entry as OPA reads it: a pointer string, or an object with op, path and value."""
    if isinstance(item, str):
        op, path, value = "remove", item, None
    elif isinstance(item, dict):
        op, path, value = item.get("op", "remove"), item.get("path"), item.get("value")
    else:
        raise ValueError(f"invalid mask rule format: {item!r}")
    if op not in ("remove", "upsert"):
        raise ValueError(f"mask op is not supported: {op}")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"mask must be a slash-prefixed path: {path!r}")
    parts = path[1:].split("/")
    if parts[0] not in PARTS:
        raise ValueError(f"mask prefix not allowed: {parts[0]}")
    return Rule(op, parts, value)


def static_rules(spec: str) -> list[Rule]:
    """--decision-log-mask /input/password,/result/secret: removals, in the order OPA would apply
    the same pointers from a `mask` set (sorted)."""
    return [parse_rule(p) for p in sorted({p.strip() for p in spec.split(",") if p.strip()})]


class LogPolicy:
    """The bundle's system.log rules, evaluated by the embedded OPA of the current snapshot."""

    def __init__(self, current_engine: Callable[[], Engine | None]) -> None:
        self.current_engine = current_engine
        self._engine: Engine | None = None
        self._constant: LogDecision | None = None

    def constant(self, engine: Engine) -> LogDecision | None:
        """The decision for every event when the rules read nothing of it (asked once per bundle,
        so that a bundle without system.log rules costs nothing per event), else None."""
        if engine is not self._engine:
            reads = engine.prepare(LOG_POLICY).reads
            self._constant = self.decide(engine, b"{}") if reads.cacheable and not reads.paths else None
            self._engine = engine
        return self._constant

    def engine(self) -> Engine | None:
        """The engine to ask, when its bundle may hold system.log rules (else None: nothing to ask)."""
        engine = self.current_engine()
        return engine if engine is not None and _may_define_log_rules(engine.roots) else None

    @staticmethod
    def decide(engine: Engine, event_json: bytes) -> LogDecision:
        try:
            raw = engine.prepare(LOG_POLICY).evaluate_json(event_json, POLICY_TIMEOUT)
        except EngineError as exc:
            log.warning("decision log mask/drop policy failed: %s", exc.message)
            return LogDecision()
        if raw is None:
            return LogDecision()
        document = jsontext.exact_loads(raw)
        if not isinstance(document, dict):
            return LogDecision()
        decision = LogDecision(drop=document.get("drop") is True)
        for item in document.get("mask") or ():
            try:
                decision.rules.append(parse_rule(item))
            except ValueError as exc:
                log.warning("decision log mask rule skipped: %s", exc)
        return decision


def _may_define_log_rules(roots: list[str]) -> bool:
    """Whether a bundle's roots leave room for data.system.log (a bundle cannot write outside them)."""
    return any(r == "" or "system/log".startswith(r) or r.startswith("system/log") for r in roots)


def apply(rules: list[Rule], document: dict) -> tuple[list[str], list[str]]:
    """Applies the rules to {"input": ..., "result": ...} in place: (erased, masked) pointers."""
    erased: list[str] = []
    masked: list[str] = []
    for rule in rules:
        top = rule.parts[0]
        if top not in document:
            continue
        if rule.op == "remove":
            if len(rule.parts) == 1:
                del document[top]
            elif not _remove(document[top], rule.parts[1:]):
                continue
            erased.append(rule.pointer)
        else:
            if len(rule.parts) == 1:
                document[top] = rule.value
            elif not isinstance(document[top], dict) or not _upsert(document[top], rule.parts[1:], rule.value):
                continue
            masked.append(rule.pointer)
    return erased, masked


def _child(node: Any, key: str) -> tuple[bool, Any]:
    if isinstance(node, dict):
        return (key in node), node.get(key)
    if isinstance(node, list) and key.isdigit() and int(key) < len(node):
        return True, node[int(key)]
    return False, None


def _remove(node: Any, parts: list[str]) -> bool:
    for key in parts[:-1]:
        found, node = _child(node, key)
        if not found:
            return False
    last = parts[-1]
    if isinstance(node, dict) and last in node:
        del node[last]
        return True
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        del node[int(last)]
        return True
    return False


def _upsert(node: Any, parts: list[str], value: Any) -> bool:
    for key in parts[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return False
    last = parts[-1]
    if isinstance(node, dict):
        node[last] = value
        return True
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
        return True
    return False
