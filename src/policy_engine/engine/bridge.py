"""ctypes binding of the Go bridge (bridge/abi.go): bytes in, bytes out, nothing else.

ctypes releases the GIL for the duration of each call, so several Python threads can
evaluate at once. The Go runtime does not survive fork(): a process loads the library
itself, after any fork, and a child that inherits a loaded bridge refuses to use it.
"""

import ctypes
import os
import struct
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import orjson

from policy_engine.bundle.locate import bridge_library
from policy_engine.engine.errors import BridgeUnavailable, from_bridge

OK, UNDEFINED, ERROR = 0, 1, 2

_OUT = ctypes.POINTER(ctypes.c_char_p)
_u64 = ctypes.c_uint64


def _signature(fn, *args) -> None:
    fn.argtypes = [*args, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_int)]
    fn.restype = ctypes.c_int


class NativeDecision(NamedTuple):
    """A decision OPA's server made (bridge/decision_logs.go): its facts {decision_id, path,
    query, revision, error, metrics, timestamp_ns}, and its input's and result's JSON (None: absent)."""

    facts: dict
    input: bytes | None
    result: bytes | None


def _decisions(raw: bytes) -> list[NativeDecision]:
    frames, at = [], 0
    while at < len(raw):
        (size,) = _LENGTH.unpack_from(raw, at)
        at += 4
        frames.append(raw[at : at + size] or None)
        at += size
    return [
        NativeDecision(orjson.loads(frames[i] or b"{}"), frames[i + 1], frames[i + 2])
        for i in range(0, len(frames) - 2, 3)
    ]


class Bridge:
    """One loaded copy of the bridge library. Safe to share between threads."""

    def __init__(self, path: Path) -> None:
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as exc:
            raise BridgeUnavailable(f"cannot load the OPA bridge {path}: {exc} (run `make setup`)") from exc
        self._lib = lib
        self._pid = os.getpid()
        cp, n, u64p = ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(_u64)
        _signature(lib.pe_version)
        _signature(lib.pe_selftest_panic)
        _signature(lib.pe_load_bundle, cp, n, u64p)
        _signature(lib.pe_prepare, _u64, cp, n, u64p)
        _signature(lib.pe_prepare_partial, _u64, cp, n, u64p)
        i64 = ctypes.c_int64
        _signature(lib.pe_compile, _u64, cp, n, i64)
        _signature(lib.pe_eval, _u64, cp, n, i64)
        _signature(lib.pe_eval_many, _u64, cp, n, i64)
        _signature(lib.pe_key, _u64, cp, n)
        _signature(lib.pe_opa_server, _u64, cp, n, u64p)
        _signature(lib.pe_opa_serve, _u64, cp, n, i64)
        _signature(lib.pe_certificates_json, cp, n)
        lib.pe_free.argtypes = [ctypes.c_void_p]
        lib.pe_free.restype = None
        lib.pe_release.argtypes = [_u64]
        lib.pe_release.restype = None

    def _call(self, fn, *args) -> tuple[int, bytes | None]:
        if os.getpid() != self._pid:
            raise BridgeUnavailable("the OPA bridge was loaded before fork(); load it in each worker")
        out, out_len = ctypes.c_void_p(), ctypes.c_int()
        status = fn(*args, ctypes.byref(out), ctypes.byref(out_len))
        body = None
        if out.value:
            body = ctypes.string_at(out.value, out_len.value)
            self._lib.pe_free(out)
        if status == ERROR:
            err = orjson.loads(body or b'{"code":"internal_error","message":"no detail"}')
            raise from_bridge(err)
        return status, body

    def _with_handle(self, fn, *args) -> tuple[int, dict]:
        handle = _u64()
        _, body = self._call(fn, *args, ctypes.byref(handle))
        return handle.value, orjson.loads(body)

    def version(self) -> dict:
        return orjson.loads(self._call(self._lib.pe_version)[1])

    def load_bundle(self, options: dict) -> tuple[int, dict]:
        """options: {"path", "v0_compatible", "verification"} (bridge/bundle.go's loadOptions)."""
        raw = orjson.dumps(options)
        return self._with_handle(self._lib.pe_load_bundle, raw, len(raw))

    def prepare(self, bundle: int, query: str) -> tuple[int, dict]:
        raw = query.encode()
        return self._with_handle(self._lib.pe_prepare, bundle, raw, len(raw))

    def prepare_partial(self, bundle: int, request: dict) -> tuple[int, dict]:
        raw = orjson.dumps(request)
        return self._with_handle(self._lib.pe_prepare_partial, bundle, raw, len(raw))

    def compile(self, bundle: int, request: bytes, timeout: float = 0) -> dict:
        """OPA's compile API; cancelled after `timeout` seconds (0: never)."""
        _, body = self._call(self._lib.pe_compile, bundle, request, len(request), _micros(timeout))
        return orjson.loads(body)

    def eval(self, query: int, input_json: bytes | None, timeout: float = 0) -> bytes | None:
        """The result's JSON, or None when undefined. input_json None: no input. Cancelled after
        `timeout` seconds (0: never) with the EvaluationTimeout error."""
        if input_json is None:
            status, body = self._call(self._lib.pe_eval, query, None, -1, _micros(timeout))
        else:
            status, body = self._call(self._lib.pe_eval, query, input_json, len(input_json), _micros(timeout))
        return None if status == UNDEFINED else body

    def eval_many(self, query: int, inputs_json: Sequence[bytes], timeout: float = 0) -> list[tuple[int, bytes]]:
        """Per input, in order: (OK, the result's JSON), (UNDEFINED, b"") or (ERROR, the error's JSON).
        One deadline (seconds, 0: none) covers the batch.

        Inputs and results cross as frames (bridge/frames.go): bytes, never re-encoded."""
        framed = b"".join(_LENGTH.pack(len(raw)) + raw for raw in inputs_json)
        _, body = self._call(self._lib.pe_eval_many, query, framed, len(framed), _micros(timeout))
        return _frames(body or b"")

    def key(self, query: int, input_json: bytes) -> bytes:
        """The canonical JSON of the input projected onto what the query reads (bridge/key.go)."""
        return self._call(self._lib.pe_key, query, input_json, len(input_json))[1] or b""

    def opa_server(self, bundle: int, options: dict) -> int:
        """OPA's own REST server over the bundle, in process (bridge/opa_server.go): its handle."""
        raw = orjson.dumps(options)
        return self._with_handle(self._lib.pe_opa_server, bundle, raw, len(raw))[0]

    def opa_serve(
        self, server: int, head: dict, body: bytes, timeout: float = 0
    ) -> tuple[dict, bytes, list[NativeDecision]]:
        """One HTTP request answered by OPA's server: (response head {status, headers}, body, the
        decisions it made: none unless the server was built with decision_logs)."""
        head_json = orjson.dumps(head)
        framed = _LENGTH.pack(len(head_json)) + head_json + _LENGTH.pack(len(body)) + body
        _, out = self._call(self._lib.pe_opa_serve, server, framed, len(framed), _micros(timeout))
        out = out or b""
        (size,) = _LENGTH.unpack_from(out)
        answered = orjson.loads(out[4 : 4 + size])
        at = 4 + size
        (records,) = _LENGTH.unpack_from(out, at)
        at += 4
        return answered, out[at + records :], _decisions(out[at : at + records]) if records else []

    def certificates_json(self, ders: Sequence[bytes]) -> bytes:
        """DER certificates as OPA's authorizer gives them to a policy (input.client_certificates)."""
        framed = b"".join(_LENGTH.pack(len(der)) + der for der in ders)
        return self._call(self._lib.pe_certificates_json, framed, len(framed))[1] or b"[]"

    def selftest_panic(self) -> None:
        """Raises the EngineError a Go panic becomes (used by the tests)."""
        self._call(self._lib.pe_selftest_panic)

    def release(self, handle: int) -> None:
        if os.getpid() == self._pid:
            self._lib.pe_release(handle)


_LENGTH = struct.Struct("<I")


def _micros(seconds: float) -> int:
    return max(0, round(seconds * 1_000_000))


_HEADER = struct.Struct("<BI")


def _frames(body: bytes) -> list[tuple[int, bytes]]:
    items, at = [], 0
    while at < len(body):
        status, size = _HEADER.unpack_from(body, at)
        at += _HEADER.size
        items.append((status, body[at : at + size]))
        at += size
    return items


_lock = threading.Lock()
_loaded: Bridge | None = None


def load_bridge(path: Path | None = None) -> Bridge:
    """The process's bridge, loaded on first use."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = Bridge(path or bridge_library())
        return _loaded
