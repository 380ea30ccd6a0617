"""Cache keys from what a prepared query reads of its input.

An L1 key is the exact key material: the bundle revision, the entrypoint's full name and
the canonical JSON of the input projected onto the paths the entrypoint reads (built by the
bridge from the very value OPA evaluates, numbers as written). Equal keys mean equal
projections, so a hit is exact; nothing is truncated or hashed on the way.

An L2 key, shared by instances through Redis, is a keyed BLAKE2b-256 of that material: with
a per-deployment secret nobody can search offline for an input whose key collides with
another's, and without one a collision still costs 2^128 work.
"""

import hashlib
from collections.abc import Callable

import orjson

L2_PREFIX = "pe:v2"


class KeyBuilder:
    """Keys for one prepared query of one bundle revision."""

    def __init__(self, revision: str, entrypoint: str, projection: Callable[[bytes], bytes]) -> None:
        self.revision = revision
        # The parts are separated by NUL, which neither a revision, a JSON-quoted name nor
        # canonical JSON contains raw: two different (entrypoint, projection) never meet.
        self.prefix = revision.encode() + b"\0" + orjson.dumps(entrypoint) + b"\0"
        self._projection = projection

    def key(self, input_json: bytes) -> bytes:
        """The L1 key of an input; raises the engine's InvalidInput for an input OPA cannot read."""
        return self.prefix + self._projection(input_json)


class L2Keys:
    """Redis keys from L1 keys: `pe:v2:<revision>:<keyed BLAKE2b-256>`."""

    def __init__(self, secret: bytes = b"") -> None:
        # BLAKE2b takes a key of at most 64 bytes: a longer secret is hashed down to one.
        self._secret = secret if len(secret) <= 64 else hashlib.blake2b(secret).digest()

    def __call__(self, l1_key: bytes) -> str:
        revision = l1_key[: l1_key.index(b"\0")].decode()
        digest = hashlib.blake2b(l1_key, key=self._secret, digest_size=32).hexdigest()
        return f"{L2_PREFIX}:{revision}:{digest}"
