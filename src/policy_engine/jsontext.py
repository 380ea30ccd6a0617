"""JSON as text: the client's bytes reach OPA, and OPA's bytes reach the client.

A Python float between a client's number and OPA changes decisions (2048.0000000000001 is
2048 to a float, and more than 2048 to OPA), so the layers above the engine take values out
of a document as their exact byte spans (msgspec's Raw) and never re-encode a number.
Decoding accepts what OPA's decoder accepts: a lone surrogate escape or invalid UTF-8 in a
string is U+FFFD there, not an error.
"""

import codecs
import json
import re
import sys
from typing import Any

import msgspec
import orjson

DecodeError = (msgspec.DecodeError, msgspec.ValidationError, orjson.JSONDecodeError, ValueError, RecursionError)

# OPA's decoder reads documents nested up to 10,000 levels; msgspec's depth is bounded by
# Python's recursion limit (1,000 by default), so the limit is raised to match.
MAX_DEPTH = 10_000
sys.setrecursionlimit(max(sys.getrecursionlimit(), MAX_DEPTH + 100))


def _per_byte(error: UnicodeDecodeError) -> tuple[str, int]:
    """U+FFFD for each byte that is not UTF-8, as Go's decoder replaces them (Python's
    "replace" writes one for a whole truncated sequence)."""
    return "\ufffd" * (error.end - error.start), error.end


codecs.register_error("opa-replace", _per_byte)

# Matched left to right, so that an escaped backslash is never read as the start of an escape.
_ESCAPES = re.compile(
    rb"\\\\"  # an escaped backslash
    rb"|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"  # a surrogate pair
    rb"|(\\u[dD][89a-fA-F][0-9a-fA-F]{2})"  # a lone surrogate
)


def as_opa_reads(raw: bytes) -> bytes:
    """The same document with what OPA's decoder replaces by U+FFFD replaced: invalid UTF-8
    and lone surrogate escapes. Plain documents are returned as they are."""
    try:
        raw.decode()
    except UnicodeDecodeError:
        raw = raw.decode(errors="opa-replace").encode()
    if b"\\u" not in raw:
        return raw
    return _ESCAPES.sub(lambda m: rb"\ufffd" if m.group(1) else m.group(0), raw)


def loads(raw: bytes) -> Any:
    """A document decoded for the Python layers (floats are fine there: they never reach OPA)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        fixed = as_opa_reads(raw)
        if fixed is raw:
            raise
        return orjson.loads(fixed)


def decode(raw: bytes, decoder: msgspec.json.Decoder) -> tuple[Any, bytes]:
    """(the decoded struct, the bytes its Raw fields point into), as OPA would read them.

    Only where the document has something OPA reads differently (a lone surrogate escape, a
    byte that is not UTF-8) are the bytes rewritten; a Raw field otherwise keeps the client's."""
    try:
        return decoder.decode(raw), raw
    except msgspec.DecodeError:
        fixed = as_opa_reads(raw)
        if fixed is raw:
            raise
        return decoder.decode(fixed), fixed


def exact_loads(raw: bytes) -> Any:
    """A document whose numbers stay their text (msgspec.Raw), for merging documents exactly."""
    text = as_opa_reads(raw).decode()  # valid UTF-8 now
    return json.loads(text, parse_int=_number, parse_float=_number, parse_constant=_not_json)


def exact_dumps(document: Any) -> bytes:
    return msgspec.json.encode(document)


_string = msgspec.json.Decoder(str)


def string_or_text(raw: bytes) -> str:
    """A JSON string's value, or any other JSON value's text as written (never through a float)."""
    if raw[:1] == b'"':
        try:
            return _string.decode(raw)
        except msgspec.DecodeError:
            return _string.decode(as_opa_reads(raw))
    return raw.decode(errors="opa-replace")


def _number(text: str) -> msgspec.Raw:
    return msgspec.Raw(text.encode())


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
