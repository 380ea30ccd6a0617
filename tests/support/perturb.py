"""Deterministic perturbations of ACGS request bodies, as exact JSON text.

A body is changed one place at a time, at every depth: a value replaced by edge cases of its
type (numbers that no binary float keeps, -0, 1e400, strings with escapes and lone
surrogates) or by a value of another type, a member removed, a member added, an object
turned into a list. The sequence repeats earlier bodies in between, so that a cache that
missed on a body is asked for it again.

Numbers never pass through Python floats: `loads` keeps each number's text (`Number`) and
`dumps` writes it back verbatim, so what a test sends is byte for byte what it means. `Raw`
text goes out verbatim too: nesting deeper than parsers' limits, and invalid UTF-8 (carried
in a str as surrogate escapes, written out by `to_bytes` as the bytes themselves).
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Number:
    """A JSON number as its text: "2048.0000000000001" stays that, "-0" stays "-0"."""

    text: str


@dataclass(frozen=True)
class Raw:
    """JSON text written verbatim; bytes that are not UTF-8 as surrogate escapes (U+DC80..U+DCFF)."""

    text: str


Json = Any  # None | bool | str | Number | Raw | list[Json] | dict[str, Json]
Path = tuple[str | int, ...]


def loads(text: str | bytes) -> Json:
    """JSON with every number kept as its text."""
    return json.loads(text, parse_int=Number, parse_float=Number, parse_constant=_not_json)


def _not_json(name: str) -> Json:
    raise ValueError(f"{name} is not JSON")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps(value: Json, ascii: bool = False) -> str:
    """Compact JSON text: numbers verbatim; non-ASCII as is (or as \\u escapes with `ascii`);
    lone surrogates as \\u escapes either way."""
    if isinstance(value, Number | Raw):
        return value.text
    # Loops, not generator expressions: one stack frame per level of nesting.
    if isinstance(value, dict):
        members = []
        for k, v in value.items():
            members.append(dumps(k, ascii) + ":" + dumps(v, ascii))
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        items = []
        for v in value:
            items.append(dumps(v, ascii))
        return "[" + ",".join(items) + "]"
    if isinstance(value, str):
        quoted = json.dumps(value, ensure_ascii=ascii)
        return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)
    return json.dumps(value)


def to_bytes(text: str) -> bytes:
    """JSON text as the bytes sent: surrogate escapes become the bytes they stand for."""
    return text.encode(errors="surrogateescape")


_KINDS = {"{": "object", "[": "array", '"': "string", "t": "boolean", "f": "boolean", "n": "null"}


def kind(value: Json) -> str:
    """The JSON type of a value, Raw text included."""
    if isinstance(value, Raw):
        return _KINDS.get(value.text.lstrip()[:1], "number")
    if isinstance(value, Number):
        return "number"
    if isinstance(value, bool):
        return "boolean"
    types = ((dict, "object"), (list, "array"), (str, "string"), (type(None), "null"))
    return next(name for t, name in types if isinstance(value, t))


# Numbers where decimal and binary floating point part, or where 64-bit integers end.
EDGE_NUMBERS = tuple(
    Number(text)
    for text in (
        "0",
        "-0",
        "-0.0",
        "0.1",
        "0.30000000000000004",
        "2048",
        "2048.0",
        "2048.0000000000001",
        "2047.9999999999999",
        "9007199254740993",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551616",
        "18446744073709551617",
        "-18446744073709551617",
        "1e400",
        "-1e400",
        "1e-400",
        "1E2",
        "123456789012345678901234567890",
        "0.100000000000000000000000000001",
    )
)

ODD_STRINGS = ("", "é", "\ud800", "\x00", 'a"b', "😀", "2048", "strict", "A" * 64)

# A string whose bytes are not UTF-8: e2 82 starts a three-byte sequence and stops (OPA's
# decoder reads each byte as U+FFFD).
INVALID_UTF8 = Raw('"a\udce2\udc82b"')
# Nesting deeper than most parsers' default limits (OPA's decoder allows 10,000).
DEEP = Raw("[" * 1100 + "1" + "]" * 1100)

# Actions the corpus compares with, actions it does not know, and the two whose residual
# key prefixes once collided (xxh3 of the entrypoint name cut to 32 bits).
ACTIONS = (
    "data.read",
    "compute.analyze",
    "execute_in_sandbox",
    "evolve_agent",
    "system.execute_shell",
    "x.allowed",
    "x.aaaaaaacdpdvte",
    "unknown.action",
    "",
)

# The bodies perturbed: two rich ones (a sandboxed action, a safe one) and a minimal one.
BASES_TEXT = (
    '{"action":"execute_in_sandbox","agent_id":"agent-1","input_data":{"memory_mb":1024,"n":7,"score":0.75,'
    '"x":"hello","items":[1,2,{"k":"v"}],"flags":{"network":false,"debug":true}},"context":{"agent":'
    '{"id":"agent-1","trust_level":0.9,"requested_resources":{"cpu_cores":1}},"environment":'
    '{"sandbox_enabled":true,"audit_enabled":true},"mode":"strict","request_id":"r-1"}}',
    '{"action":"compute.analyze","input_data":{"memory_mb":4096,"n":12,"score":0.1,"x":"mode",'
    '"items":[5],"flags":{"network":true,"debug":false}},"context":{"agent":{"id":"agent-2","trust_level":0.4},'
    '"environment":{"sandbox_enabled":false,"audit_enabled":true},"mode":"lax"}}',
    '{"action":"data.read","context":{"agent":{"trust_level":0.5}}}',
)


def bases() -> list[Json]:
    return [loads(text) for text in BASES_TEXT]


def nodes(value: Json, path: Path = ()) -> Iterator[tuple[Path, Json]]:
    """Every value under `value` (not `value` itself), parents before children."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield (*path, key), child
        yield from nodes(child, (*path, key))


def replaced(document: Json, path: Path, value: Json) -> Json:
    """A copy of `document` with the value at `path` replaced."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return {k: replaced(v, rest, value) if k == head else v for k, v in document.items()}
    return [replaced(v, rest, value) if i == head else v for i, v in enumerate(document)]


def removed(document: Json, path: Path) -> Json:
    """A copy of `document` without the member at `path` (a dict key or a list item)."""
    head, rest = path[0], path[1:]
    if rest:
        if isinstance(document, dict):
            return {k: removed(v, rest) if k == head else v for k, v in document.items()}
        return [removed(v, rest) if i == head else v for i, v in enumerate(document)]
    if isinstance(document, dict):
        return {k: v for k, v in document.items() if k != head}
    return [v for i, v in enumerate(document) if i != head]


def replacements(path: Path, value: Json) -> list[Json]:
    """What a value becomes: edge cases of its own type, then other types."""
    if path == ("action",):
        return [a for a in ACTIONS if a != value] + [INVALID_UTF8, Number("42"), None]
    if isinstance(value, Number):
        return [n for n in EDGE_NUMBERS if n != value] + [value.text, None, True, [value], {"v": value}]
    if isinstance(value, bool):
        return [not value, str(value).lower(), Number("1"), None]
    if isinstance(value, str):
        return [s for s in ODD_STRINGS if s != value] + [INVALID_UTF8, Number("1"), None, [value]]
    if value is None:
        return [Number("0"), {}, "null", False]
    if isinstance(value, dict):
        extra = {**value, "extra": Number("1")}
        unicode_key = {**value, "é\ud800": True}
        return [{}, list(value.values()), None, "object", extra, unicode_key, DEEP]
    return [{}, [], [*value, Number("1e400")], value[1:], value[::-1], {str(i): v for i, v in enumerate(value)}]


@dataclass(frozen=True)
class Perturbed:
    """A body, and in words how it came from its base ("base 1: input_data.n = 1e400")."""

    label: str
    body: Json


def path_text(path: Path) -> str:
    """("input_data", "items", 2, "k") -> input_data.items[2].k"""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def value_text(value: Json) -> str:
    text = dumps(value)
    if isinstance(value, Raw) and text.startswith("[["):
        return f"[...] nested {text.count('[')} deep"
    return text if len(text) <= 40 else text[:37] + "..."


def edits(base: Json) -> Iterator[tuple[str, Json]]:
    """(what changed, the body) for each body that differs from `base` in one place, in a fixed order."""
    for path, value in nodes(base):
        for replacement in replacements(path, value):
            yield f"{path_text(path)} = {value_text(replacement)}", replaced(base, path, replacement)
        yield f"{path_text(path)} removed", removed(base, path)
    if isinstance(base, dict) and "agent_id" not in base:
        yield 'agent_id = "agent-1" added', {**base, "agent_id": "agent-1"}


def with_repeats(bodies: list[Perturbed], every: int = 3) -> list[Perturbed]:
    """The bodies in order, and after every `every`-th one, an earlier body again (and the
    first body again every ten), so that answers are asked for once cached."""
    out = []
    for i, body in enumerate(bodies):
        out.append(body)
        if i % every == every - 1:
            out.append(again(bodies[i // 2]))
        if i % 10 == 9:
            out.append(again(bodies[0]))
    return out


def again(p: Perturbed) -> Perturbed:
    return Perturbed(f"{p.label} (again)", p.body)


# Values every sequence puts somewhere, whatever its stride: those most likely to be read
# differently from OPA.
ALWAYS = (
    Number("1e400"),
    Number("1e-400"),
    Number("-0"),
    Number("2048.0000000000001"),
    Number("18446744073709551617"),
    Number("0.100000000000000000000000000001"),
    "\ud800",
    INVALID_UTF8,
    DEEP,
)


def sequence(base: Json, name: str = "base", stride: int = 1, offset: int = 0) -> list[Perturbed]:
    """The base, its one-place edits (every `stride`-th from `offset`, and the first that sets
    each of ALWAYS), with repeats."""
    all_edits = list(edits(base))
    chosen = set(range(offset, len(all_edits), stride))
    for value in ALWAYS:
        setting = [i for i, (what, _) in enumerate(all_edits) if what.endswith(f" = {value_text(value)}")]
        chosen.update(setting[:1])
    one_place = [Perturbed(f"{name}: {all_edits[i][0]}", all_edits[i][1]) for i in sorted(chosen)]
    return with_repeats([Perturbed(name, base), *one_place])


def corpus_sequence(stride: int = 1, offset: int = 0) -> list[Perturbed]:
    """Every base's sequence, one after another."""
    return [p for n, base in enumerate(bases(), 1) for p in sequence(base, f"base {n}", stride, offset)]
