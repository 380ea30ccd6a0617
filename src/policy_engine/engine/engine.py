"""The Engine: one loaded bundle, its prepared entrypoints, and what each one reads."""

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from policy_engine.bundle.locate import DEFAULT_QUERY, default_bundle
from policy_engine.engine.bridge import ERROR, OK, Bridge, NativeDecision, load_bridge
from policy_engine.engine.errors import EngineError, UndefinedDecision, from_bridge

MAX_PREPARED = 1024

PathKey = tuple[str, ...]


@dataclass(frozen=True)
class ReadPaths:
    """The parts of the input a prepared query can read, from the compiled policy."""

    paths: tuple[PathKey, ...]
    whole_input: bool
    nondeterministic: tuple[str, ...]
    # Input path (dotted) -> the string constants the policy compares it with.
    comparisons: dict[str, tuple[str, ...]]

    @property
    def cacheable(self) -> bool:
        """Decisions depend only on `paths` (and the bundle): safe to cache on them."""
        return not self.whole_input and not self.nondeterministic

    @classmethod
    def from_bridge(cls, reads: dict) -> "ReadPaths":
        return cls(
            paths=tuple(tuple(p) for p in reads["paths"]),
            whole_input=reads["whole_input"],
            nondeterministic=tuple(reads["nondeterministic"]),
            comparisons={path: tuple(values) for path, values in (reads.get("comparisons") or {}).items()},
        )


class PreparedQuery:
    """A query compiled once for one bundle revision; evaluate it as often as needed."""

    def __init__(self, bridge: Bridge, handle: int, info: dict) -> None:
        self._bridge = bridge
        self._handle = handle
        # The handle is released once: by close(), or when the last holder lets go.
        self._release = weakref.finalize(self, bridge.release, handle)
        self.query: str = info["query"]
        self.reads = ReadPaths.from_bridge(info["reads"])
        self.residual: tuple[str, ...] = tuple(info.get("residual") or ())

    def evaluate_json(self, input_json: bytes | None, timeout: float = 0) -> bytes | None:
        """The result as JSON bytes, None when undefined; input_json None means no input.
        Raises EvaluationTimeout past `timeout` seconds (0: no deadline)."""
        return self._bridge.eval(self._handle, input_json, timeout)

    def evaluate(self, input: Any) -> Any:
        result = self.evaluate_json(orjson.dumps(input))
        if result is None:
            raise UndefinedDecision()
        return orjson.loads(result)

    def evaluate_many_json(self, inputs_json: Sequence[bytes], timeout: float = 0) -> list[tuple[int, bytes]]:
        """One bridge call, evaluated in parallel goroutines; per input (status, bytes): see item_result.
        Items still running `timeout` seconds after the call started (0: no deadline) time out."""
        return self._bridge.eval_many(self._handle, inputs_json, timeout)

    def evaluate_many(self, inputs: Sequence[Any]) -> list[Any]:
        """Results in order; an input that fails gets its EngineError in its place."""
        return [_item(i) for i in self.evaluate_many_json([orjson.dumps(x) for x in inputs])]

    def cache_key(self, input_json: bytes) -> bytes:
        """The input projected onto what this query reads, as canonical JSON: the cache key's body.
        Raises InvalidInput for an input OPA cannot read."""
        return self._bridge.key(self._handle, input_json)

    def close(self) -> None:
        self._release()


def _item(item: tuple[int, bytes]) -> Any:
    """An item of evaluate_many: the decoded result, or the error in its place."""
    try:
        result = item_result(item)
    except EngineError as exc:
        return exc
    return UndefinedDecision() if result is None else orjson.loads(result)


def item_result(item: tuple[int, bytes]) -> bytes | None:
    """One item of evaluate_many_json as evaluate_json answers it: the bridge's bytes, None, or the raised error."""
    status, body = item
    if status == OK:
        return body
    if status == ERROR:
        error = orjson.loads(body)
        raise from_bridge(error)
    return None


class OpaServer:
    """OPA's REST server for one bundle revision, answering requests without a listener."""

    def __init__(self, bridge: Bridge, handle: int) -> None:
        self._bridge = bridge
        self._release = weakref.finalize(self, bridge.release, handle)
        self._handle = handle

    def serve(self, head: dict, body: bytes, timeout: float = 0) -> tuple[dict, bytes, list[NativeDecision]]:
        """head: {"method", "target", "headers": [[name, value], ...]}; answers (response head, body,
        the decisions made: none unless built with {"decision_logs": true})."""
        return self._bridge.opa_serve(self._handle, head, body, timeout)


@dataclass(frozen=True)
class Verification:
    """How to verify a signed bundle: `opa run`'s --verification-key and its companions."""

    key: str  # a PEM public key, an HMAC secret, or a file holding one
    key_id: str = "default"
    algorithm: str = "RS256"
    scope: str = ""
    exclude_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadOptions:
    v0_compatible: bool = False  # Rego v0 unless the manifest says otherwise (--v0-compatible)
    verification: Verification | None = None  # when set, an unsigned or tampered bundle is refused

    def request(self, path: Path) -> dict:
        request: dict = {"path": str(path), "v0_compatible": self.v0_compatible}
        if self.verification is not None:
            v = self.verification
            request["verification"] = {
                "key": v.key,
                "key_id": v.key_id,
                "algorithm": v.algorithm,
                "scope": v.scope,
                "exclude_files": list(v.exclude_files),
            }
        return request


class Engine:
    """A loaded bundle with its default entrypoint prepared. Immutable: a new bundle is a new Engine.

    Its bundle handle is released when the Engine is closed or forgotten; its prepared queries
    each own their handle (the Go objects they use stay alive as long as they do)."""

    def __init__(
        self,
        bundle: str | Path | None = None,
        query: str = DEFAULT_QUERY,
        bridge: Bridge | None = None,
        options: LoadOptions = LoadOptions(),
    ) -> None:
        self._bridge = bridge or load_bridge()
        self.bundle_path = Path(bundle) if bundle else default_bundle()
        self._handle, info = self._bridge.load_bundle(options.request(self.bundle_path))
        self._release = weakref.finalize(self, self._bridge.release, self._handle)
        self.revision: str = info["revision"]
        self.manifest_revision: str = info["manifest_revision"]
        self.roots: list[str] = info["roots"]
        self._prepared: dict[str, PreparedQuery] = {}
        self._lock = threading.Lock()
        self.entrypoint = self.prepare(query)

    def prepare(self, query: str) -> PreparedQuery:
        """The query prepared once; later calls return the same PreparedQuery."""
        found = self._prepared.get(query)
        if found is not None:
            return found
        handle, info = self._bridge.prepare(self._handle, query)
        prepared = PreparedQuery(self._bridge, handle, info)
        with self._lock:
            if len(self._prepared) >= MAX_PREPARED:
                # Forgotten, not closed: a request may still hold it; it is released with its last holder.
                evicted = next(q for q in self._prepared if q != self.entrypoint.query)
                del self._prepared[evicted]
            return self._prepared.setdefault(query, prepared)

    def partial(self, known_input: dict, unknowns: Sequence[str], query: str | None = None) -> PreparedQuery:
        """The query partially evaluated on `known_input`, `unknowns` left open."""
        request = {
            "query": query or self.entrypoint.query,
            "input": known_input,
            "unknowns": list(unknowns),
        }
        handle, info = self._bridge.prepare_partial(self._handle, request)
        return PreparedQuery(self._bridge, handle, info)

    def compile(self, request_json: bytes, timeout: float = 0) -> dict:
        """OPA's compile API: partial evaluation of {"query", "input", "unknowns"}, within `timeout` s."""
        return self._bridge.compile(self._handle, request_json, timeout)

    def evaluate(self, input: Any) -> Any:
        return self.entrypoint.evaluate(input)

    def evaluate_many(self, inputs: Sequence[Any]) -> list[Any]:
        return self.entrypoint.evaluate_many(inputs)

    def version(self) -> dict:
        return self._bridge.version()

    def opa_server(self, options: dict) -> "OpaServer":
        """OPA's own REST server over this bundle (its own store, the same modules and data):
        blocking, so build it off the event loop."""
        return OpaServer(self._bridge, self._bridge.opa_server(self._handle, options))

    def close(self) -> None:
        """Releases the bundle now; each prepared query is released with its last holder."""
        self._prepared.clear()
        self._release()


__all__ = ["Engine", "EngineError", "PreparedQuery", "ReadPaths"]
