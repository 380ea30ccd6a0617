"""The engine layer: real OPA, in process, through the C-ABI bridge."""

from policy_engine.engine.engine import Engine, PreparedQuery, ReadPaths
from policy_engine.engine.errors import (
    BridgeUnavailable,
    BundleError,
    CompileError,
    EngineError,
    EvaluationError,
    InvalidInput,
    UndefinedDecision,
)

__all__ = [
    "BridgeUnavailable",
    "BundleError",
    "CompileError",
    "Engine",
    "EngineError",
    "EvaluationError",
    "InvalidInput",
    "PreparedQuery",
    "ReadPaths",
    "UndefinedDecision",
]
