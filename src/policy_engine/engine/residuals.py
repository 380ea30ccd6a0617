"""Partial evaluation of the entrypoint per action: a residual query for each known action.

A residual reads only what its action's branch reads (`data.read` reads the trust level
alone), so its cache key is smaller and hits across agents the full key keeps apart, and it
is cheaper to evaluate. It is used only for inputs whose `action` is exactly its string.
"""

import logging
from collections.abc import Iterable

import msgspec

from policy_engine.engine.engine import Engine, PreparedQuery
from policy_engine.engine.errors import EngineError

log = logging.getLogger(__name__)

ACTION_PATH = ("action",)
MAX_RESIDUALS = 256


_config = msgspec.json.Decoder(dict[str, msgspec.Raw])
_list = msgspec.json.Decoder(list[msgspec.Raw])


def config_actions(engine: Engine, config_query: str = "data.acgs.config") -> set[str]:
    """Every string of every list in the policy's configuration (the action lists). Only those
    are decoded: any other value (a number beyond a float included) is left alone."""
    raw = engine.prepare(config_query).evaluate_json(None)
    if not raw or raw[:1] != b"{":
        return set()
    found: set[str] = set()
    for value in _config.decode(raw).values():
        if bytes(value)[:1] == b"[":
            found.update(msgspec.json.decode(item, type=str) for item in _list.decode(value) if bytes(item)[:1] == b'"')
    return found


def unknowns_for(full: PreparedQuery) -> list[str] | None:
    """The top-level input documents the entrypoint reads, action aside: left unknown.
    None when partial evaluation cannot help (the entrypoint reads input whole) or must not be
    used (it calls a builtin that depends on the world, which partial evaluation would fold)."""
    if not full.reads.cacheable or ACTION_PATH not in full.reads.paths:
        return None
    return sorted({"input." + path[0] for path in full.reads.paths if path != ACTION_PATH})


def specialise(engine: Engine, full: PreparedQuery, actions: Iterable[str]) -> dict[str, PreparedQuery]:
    """A residual per action; an action whose partial evaluation fails keeps the full query."""
    unknowns = unknowns_for(full)
    if unknowns is None:
        return {}
    residuals = {}
    for action in sorted(actions)[:MAX_RESIDUALS]:
        try:
            residuals[action] = engine.partial({"action": action}, unknowns, full.query)
        except EngineError as exc:
            log.warning("no residual for action %r: %s", action, exc.message)
    return residuals
