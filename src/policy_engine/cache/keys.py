"""Cache keys from what a prepared query reads of its input.

An L1 key is the exact key material: the bundle revision, the entrypoint's full name and
the canonical JSON of the input projected onto the paths the entrypoint reads, numbers as
written. Equal keys mean equal projections, so a hit is exact; nothing is truncated or hashed
on the way. There are three ways to the projection, tried in turn:
- the common one decodes only the read paths, into msgspec structs made for the read set
  (floats keep their text), and writes them with sorted keys;
- a plain document the structs do not fit (a read path that runs into a value that is not
  an object) is decoded whole and projected in Python, written by the same encoder: the
  same bytes;
- anything msgspec could read differently from OPA (a lone surrogate, bytes that are not
  UTF-8, a negative zero where the policy reads, an exponent OPA may refuse anywhere) is
  projected by the bridge from the very value OPA evaluates.
Each way writes JSON whose value for OPA is the projection's, so two different projections
never meet under one key, whichever way each took.

An L2 key, shared by instances through Redis, is a keyed BLAKE2b-256 of that material: with
a per-deployment secret nobody can search offline for an input whose key collides with
another's, and without one a collision still costs 2^128 work.
"""

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import orjson

L2_PREFIX = "pe:v2"


# A trie of read paths: key -> sub-trie, or None where the whole value is read.
PathTrie = dict[str, "PathTrie | None"]


class _Unusual(Exception):
    """A number only OPA's decoder can judge: the document goes the bridge's way."""


def _float(text: str) -> msgspec.Raw:
    """A float keeps its text. One with a large exponent may be out of the range OPA's decoder
    takes (then OPA refuses the whole input, and no key may be made for it): the bridge judges.
    (OPA counts the mantissa's length with the exponent: documents long enough for that to
    matter never come here, see GENERAL_WAY_MAX_BYTES.)"""
    exponent = text.lower().rpartition("e")[2] if "e" in text or "E" in text else "0"
    if len(exponent.lstrip("+-")) > 3:
        raise _Unusual(text)
    return msgspec.Raw(text.encode())


_decoder = msgspec.json.Decoder(float_hook=_float)


# Digits and signs folded to 0, E to e: a number with an exponent of four digits or more (one
# OPA's decoder may refuse, anywhere in the document, read or not) shows as _LONG_EXPONENT,
# after a mantissa that starts a value.
_FOLD = bytes.maketrans(b"123456789+-E", b"00000000000e")
_LONG_EXPONENT = b"0e0000"
_VALUE_START = b" \t\r\n:,["
_MINUS_ZERO = re.compile(rb"-0(?![0-9.eE])")  # starts with a literal: a fast scan
_ZERO_VALUE = re.compile(rb"0[,\]}]")  # in compact JSON; the byte before is checked


# OPA refuses a number whose mantissa length plus exponent passes 25,000 (ast.NumberChecked),
# and nesting past 10,000 levels; Python's ways see neither. A document longer than this can
# hold neither with a short exponent: it is projected by the bridge, as OPA reads it.
GENERAL_WAY_MAX_BYTES = 20_000


def _may_hold_long_exponent(document: bytes) -> bool:
    folded = document.translate(_FOLD)
    at = folded.find(_LONG_EXPONENT)
    while at != -1:
        start = at
        while start > 0 and folded[start - 1] in b"0.":
            start -= 1
        if start == 0 or folded[start - 1] in _VALUE_START:
            return True
        at = folded.find(_LONG_EXPONENT, at + 1)
    return False


def _may_hold_negative_zero(document: bytes) -> bool:
    """The integer -0 as a value (not -0.5, -0e1 or -01 in a date; possibly inside a string, which
    only costs the slower way)."""
    for found in _MINUS_ZERO.finditer(document):
        before = found.start() - 1
        while before >= 0 and document[before] in b" \t\r\n":
            before -= 1
        if before >= 0 and document[before] in b"[:,":
            return True
    return False


def _holds_integer_zero(projection: bytes) -> bool:
    """Whether compact JSON holds the value 0 (perhaps also inside a string, which only costs a
    second look): msgspec writes it for the integer -0 too."""
    found = _ZERO_VALUE.search(projection)
    while found is not None:
        if projection[found.start() - 1] in b":,[":
            return True
        found = _ZERO_VALUE.search(projection, found.end())
    return False


def _is_utf8(document: bytes) -> bool:
    """msgspec skips an unread key that is not UTF-8 without looking: OPA reads it with U+FFFD
    in place of each bad byte, so it may be a key the policy reads."""
    if document.isascii():
        return True
    try:
        document.decode()
    except UnicodeDecodeError:
        return False
    return True


def _projection_struct(trie: PathTrie) -> type[msgspec.Struct]:
    """A struct that decodes the read paths of a document and nothing else; an absent path is
    left out. Encoded with sorted keys it is the canonical projection."""
    fields: list[tuple[str, Any, Any]] = []
    rename = {}
    for index, key in enumerate(trie):
        name = f"f{index}"
        rename[name] = key
        sub = trie[key]
        kind = Any if sub is None else _projection_struct(sub) | msgspec.UnsetType
        fields.append((name, kind, msgspec.UNSET))
    return msgspec.defstruct("Projection", fields, rename=rename)


_sorted_encoder = msgspec.json.Encoder(order="sorted")


def _read_path_decoder(trie: PathTrie) -> msgspec.json.Decoder | None:
    """None when msgspec cannot name a field as the policy does (a key holding a quote, a
    backslash or a control character): such read sets take the general way. A float keeps its
    text unchecked: the documents this decoder reads were scanned for long exponents first."""
    try:
        return msgspec.json.Decoder(_projection_struct(trie), float_hook=msgspec.Raw)
    except ValueError:
        return None


def build_trie(paths: Sequence[Sequence[str]]) -> PathTrie:
    """Paths are minimal (none extends another), as the bridge reports them."""
    trie: PathTrie = {}
    for path in paths:
        node = trie
        for step in path[:-1]:
            node = node.setdefault(step, {})  # type: ignore[assignment]
        node[path[-1]] = None
    return trie


def project(document: Any, trie: PathTrie) -> dict:
    """The part of `document` the policy can read. A path that is absent (or runs into a
    value that is not an object) is left out: the policy sees it as undefined either way.
    An object on a read path stays, even with nothing read under it."""
    if type(document) is not dict:
        return {}
    out = {}
    for key, sub in trie.items():
        if key in document:
            value = document[key]
            if sub is None:
                out[key] = value
            elif type(value) is dict:
                out[key] = project(value, sub)
    return out


class KeyBuilder:
    """Keys for one prepared query of one bundle revision."""

    def __init__(
        self, revision: str, entrypoint: str, paths: Sequence[Sequence[str]], projection: Callable[[bytes], bytes]
    ) -> None:
        # The parts are separated by NUL, which neither a revision, a JSON-quoted name nor
        # canonical JSON contains raw: two different (entrypoint, projection) never meet.
        self.prefix = revision.encode() + b"\0" + orjson.dumps(entrypoint) + b"\0"
        self.trie = build_trie(paths)
        self._bridge_projection = projection
        self._read_paths = _read_path_decoder(self.trie)

    def key(self, input_json: bytes) -> bytes:
        """The L1 key of an input; raises the engine's InvalidInput for an input OPA cannot read."""
        return self.prefix + self.projection(input_json)

    def projection(self, input_json: bytes) -> bytes:
        if len(input_json) > GENERAL_WAY_MAX_BYTES:
            return self._bridge_projection(input_json)
        if self._read_paths is not None and self._fits_structs(input_json):
            try:
                projection = _sorted_encoder.encode(self._read_paths.decode(input_json))
            except (msgspec.DecodeError, RecursionError):
                pass  # a read path runs into a value that is not an object, say: the general way
            else:
                return self._unless_negative_zero(input_json, projection)
        return self._canonical_projection(input_json)

    @staticmethod
    def _fits_structs(input_json: bytes) -> bool:
        return _is_utf8(input_json) and not _may_hold_long_exponent(input_json)

    def _canonical_projection(self, input_json: bytes) -> bytes:
        try:
            projection = _sorted_encoder.encode(project(_decoder.decode(input_json), self.trie))
        except (msgspec.DecodeError, RecursionError, _Unusual):
            return self._bridge_projection(input_json)  # what only OPA's decoder reads as OPA does
        return self._unless_negative_zero(input_json, projection)

    def _unless_negative_zero(self, input_json: bytes, projection: bytes) -> bytes:
        """msgspec reads the integer -0 as 0 where OPA keeps its text: a projection holding a 0
        that may have been written -0 is the bridge's (only a read 0 matters)."""
        if _holds_integer_zero(projection) and _may_hold_negative_zero(input_json):
            return self._bridge_projection(input_json)
        return projection


class L2Keys:
    """Redis keys from L1 keys: `pe:v2:<revision>:<keyed BLAKE2b-256>`."""

    def __init__(self, secret: bytes = b"") -> None:
        # BLAKE2b takes a key of at most 64 bytes: a longer secret is hashed down to one.
        self._secret = secret if len(secret) <= 64 else hashlib.blake2b(secret).digest()

    def __call__(self, l1_key: bytes) -> str:
        revision = l1_key[: l1_key.index(b"\0")].decode()
        digest = hashlib.blake2b(l1_key, key=self._secret, digest_size=32).hexdigest()
        return f"{L2_PREFIX}:{revision}:{digest}"
