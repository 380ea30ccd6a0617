"""What a client may read of a failure, and what goes to the log instead.

OPA's own errors (a query that does not compile, an evaluation error, a timeout) are the client's
to read, as OPA's server answers them. Anything internal (a recovered Go panic, the bridge
missing, a bug in this service) is logged with its decision id, its Go stack or Python
traceback, and the client gets one plain sentence naming that decision id: never an exception's
name, a path inside the service or a stack.
"""

import logging

from policy_engine.engine.errors import EngineError

log = logging.getLogger("policy_engine.failures")

INTERNAL = "internal error in the policy engine"
# The failures whose text is not for clients, and the sentence they get instead.
PUBLIC_SENTENCES = {
    "internal_error": INTERNAL,
    "bridge_unavailable": INTERNAL,
    "upstream_unavailable": "the external OPA is unreachable",
}


def is_internal(exc: BaseException) -> bool:
    return not isinstance(exc, EngineError) or exc.code in PUBLIC_SENTENCES


def public_message(exc: BaseException, decision_id: str) -> str:
    """The message a response may carry for `exc`; an internal failure is logged here."""
    if not is_internal(exc):
        assert isinstance(exc, EngineError)
        return exc.message
    if isinstance(exc, EngineError):
        log.error(
            "decision %s failed: %s",
            decision_id,
            exc.message,
            extra={"decision_id": decision_id, "detail": exc.detail or None},
        )
    else:
        log.error("decision %s failed", decision_id, exc_info=exc, extra={"decision_id": decision_id})
    sentence = PUBLIC_SENTENCES.get(exc.code, INTERNAL) if isinstance(exc, EngineError) else INTERNAL
    return f"{sentence} (decision_id {decision_id}; the service log has the detail)"
