"""Typed errors of the engine, one per code the bridge reports."""


class EngineError(Exception):
    """A failure reported by the bridge: `code` is stable, `message` is OPA's text; `detail` (a
    recovered Go panic's stack) is for the service's log only."""

    code = "engine_error"

    def __init__(self, message: str, code: str | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        if code is not None:
            self.code = code


class BridgeUnavailable(EngineError):
    code = "bridge_unavailable"


class UpstreamUnavailable(EngineError):
    """The external OPA (--engine opa-http) could not be reached: the detail is for the log."""

    code = "upstream_unavailable"


class BundleError(EngineError):
    code = "bundle_error"


class CompileError(EngineError):
    code = "compile_error"


class InvalidInput(EngineError):
    code = "invalid_input"


class EvaluationError(EngineError):
    code = "eval_error"


class EvaluationTimeout(EngineError):
    """The evaluation ran past its deadline and OPA cancelled it."""

    code = "eval_timeout"


class UndefinedDecision(EngineError):
    """The query has no result for this input (OPA's `undefined`)."""

    code = "undefined"

    def __init__(self, message: str = "the decision is undefined") -> None:
        super().__init__(message)


_BY_CODE: dict[str, type[EngineError]] = {
    "bundle_error": BundleError,
    "compile_error": CompileError,
    "invalid_query": CompileError,
    "partial_error": CompileError,
    "invalid_input": InvalidInput,
    "eval_error": EvaluationError,
    "eval_timeout": EvaluationTimeout,
}


def from_bridge(error: dict) -> EngineError:
    """The error the bridge answered ({"code", "message"} and, for a recovered panic, "stack")."""
    return _BY_CODE.get(error["code"], EngineError)(error["message"], error["code"], error.get("stack", ""))
