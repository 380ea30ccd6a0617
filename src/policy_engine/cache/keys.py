"""Cache keys from what a prepared query reads of its input.

key = prefix : bundle revision : entrypoint : xxh3 of the canonical JSON of the input
projected onto the read paths. The policy cannot see anything outside the projection, so
two inputs with the same projection get the same decision: that is the soundness the
whole cache rests on, and the tests check it against the engine.
"""

from collections.abc import Sequence
from typing import Any

import orjson
import xxhash

KEY_PREFIX = "pe:v1"

# A trie of read paths: key -> sub-trie, or None where the whole value is read.
PathTrie = dict[str, "PathTrie | None"]


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
    value that is not an object) is left out: the policy sees it as undefined either way."""
    if type(document) is not dict:
        return {}
    out = {}
    for key, sub in trie.items():
        if key in document:
            value = document[key]
            if sub is None:
                out[key] = value
            elif type(value) is dict:
                inner = project(value, sub)
                if inner:
                    out[key] = inner
    return out


def canonical(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def digest(canonical_json: bytes) -> str:
    return xxhash.xxh3_64_hexdigest(canonical_json)


class KeyBuilder:
    """Keys for one prepared query of one bundle revision."""

    def __init__(self, revision: str, entrypoint: str, paths: Sequence[Sequence[str]]) -> None:
        self.trie = build_trie(paths)
        self.prefix = f"{KEY_PREFIX}:{revision}:{digest(entrypoint.encode())[:8]}:"

    def project(self, document: Any) -> dict:
        return project(document, self.trie)

    def key(self, projection_json: bytes) -> str:
        return self.prefix + digest(projection_json)
