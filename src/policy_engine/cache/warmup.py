"""Warming: decide a corpus of recent requests before /ready says ready."""

import logging
from pathlib import Path

import orjson

from policy_engine.decisions import Decisions
from policy_engine.http.acgs_request import RequestInvalid, opa_input, parse_evaluate_request

log = logging.getLogger(__name__)


async def warm(decisions: Decisions, query: str, corpus: Path) -> int:
    """Decides every valid request body of a JSON-lines file; answers how many."""
    count = 0
    with corpus.open("rb") as lines:
        for line in lines:
            try:
                request = parse_evaluate_request(orjson.loads(line))
            except (orjson.JSONDecodeError, RequestInvalid):
                continue
            await decisions.decide(query, opa_input(request))
            count += 1
    log.info("warmed the cache with %d requests from %s", count, corpus)
    return count
