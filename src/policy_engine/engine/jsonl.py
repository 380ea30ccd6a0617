"""`policy-engine eval --jsonl`: OPA input documents in, decisions out, one per line, in order."""

from typing import BinaryIO

import orjson

from policy_engine.engine.engine import Engine
from policy_engine.engine.errors import EngineError, UndefinedDecision


def evaluate_lines(source: BinaryIO, sink: BinaryIO, bundle: str | None, query: str) -> None:
    """A line that is not JSON, or whose decision fails, gets {"error": {...}} in its place."""
    engine = Engine(bundle, query=query)
    for line in source:
        if line.strip():
            sink.write(orjson.dumps(_decide(engine, line)) + b"\n")
    sink.flush()


def _decide(engine: Engine, line: bytes) -> object:
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return {"error": {"code": "invalid_json", "message": str(exc)}}
    try:
        result = engine.entrypoint.evaluate_json(orjson.dumps(document))
    except EngineError as exc:
        return {"error": {"code": exc.code, "message": exc.message}}
    if result is None:
        undefined = UndefinedDecision()
        return {"error": {"code": undefined.code, "message": undefined.message}}
    return orjson.loads(result)
