"""Warming: decide a corpus of recent requests before /ready says ready."""

import logging
from pathlib import Path

from policy_engine.decisions import EmbeddedDecisions
from policy_engine.http.acgs_request import RequestInvalid, opa_input, parse_evaluate_request

log = logging.getLogger(__name__)


async def warm(decisions: EmbeddedDecisions, query: str, corpus: Path) -> int:
    """Decides every valid request body of a JSON-lines file; answers how many."""
    requests = []
    with corpus.open("rb") as lines:
        for line in lines:
            try:
                requests.append(parse_evaluate_request(line))
            except RequestInvalid:
                continue
    # Specialise first: a key warmed under the full query would not be the one used later.
    await decisions.specialise_actions({r.action for r in requests})
    for request in requests:
        await decisions.decide(query, opa_input(request), request.action)
    log.info("warmed the cache with %d requests from %s", len(requests), corpus)
    return len(requests)
