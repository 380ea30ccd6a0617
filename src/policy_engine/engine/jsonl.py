"""`policy-engine eval --jsonl`: OPA input documents in, decisions out, one per line, in order.

Each line reaches OPA as it was written and each decision leaves as the bridge wrote it, so
no number is rounded on the way; a line that fails never stops the lines after it.
"""

from typing import BinaryIO

import orjson

from policy_engine.engine.engine import Engine
from policy_engine.engine.errors import EngineError, UndefinedDecision


def evaluate_lines(source: BinaryIO, sink: BinaryIO, bundle: str | None, query: str) -> None:
    """A line that is not JSON, or whose decision fails, gets {"error": {...}} in its place."""
    engine = Engine(bundle, query=query)
    for line in source:
        if line.strip():
            sink.write(_decide(engine, line.strip()) + b"\n")
    sink.flush()


def _decide(engine: Engine, line: bytes) -> bytes:
    try:
        result = engine.entrypoint.evaluate_json(line)
    except EngineError as exc:
        code = "invalid_json" if exc.code == "invalid_input" else exc.code
        return _error(code, exc.message)
    except Exception as exc:  # one line's failure is its own
        return _error("internal_error", repr(exc))
    if result is None:
        undefined = UndefinedDecision()
        return _error(undefined.code, undefined.message)
    return result


def _error(code: str, message: str) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message}})
