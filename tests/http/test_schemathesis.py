"""schemathesis over /openapi.json against a running service: every operation, valid and invalid
requests (positive and negative generation), no 5xx, every answer as the document describes it
(its status, media type and schema), and never an allow for a malformed request.

`make test` sends at least PE_FUZZ_REQUESTS requests (5,000); `make fuzz` many more. Generation
is derandomized (the same document and code give the same requests) unless PE_FUZZ_SEED is set.
"""

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from policy_engine.http.opa_native import OPA_SERVER_ROUTES
from policy_engine.http.openapi import OPENAPI
from tests.support.service import running_service

REQUESTS = int(os.environ.get("PE_FUZZ_REQUESTS") or "5000")
SEED = os.environ.get("PE_FUZZ_SEED") or None
# Operations with something to generate share the requests; the others (no parameters, no
# body) exhaust their few distinct cases at once.
GENERATED = [
    (path, method)
    for path, methods in OPENAPI["paths"].items()
    for method, operation in methods.items()
    if "requestBody" in operation or "parameters" in operation
]
EXAMPLES = -(-REQUESTS // len(GENERATED))  # per operation (both generation modes together)

sent: Counter[str] = Counter()  # requests per operation
seen: Counter[str] = Counter()  # ACGS requests: malformed, allowed, denied


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": OPENAPI["components"]}
    return jsonschema.Draft202012Validator(schema)


EVALUATE = _validator("EvaluateRequest")
ACGS_PATHS = ("/v1/evaluate", "/api/v1/evaluate", "/v1/batch/evaluate")


def _allows(document: Any) -> bool:
    """Whether `"allow": true` is anywhere in a JSON document."""
    if isinstance(document, dict):
        return document.get("allow") is True or any(_allows(v) for v in document.values())
    if isinstance(document, list):
        return any(_allows(v) for v in document)
    return False


def _malformed(validator: jsonschema.Draft202012Validator, body: Any) -> bool:
    return not isinstance(body, dict | list | str | int | float | bool | None) or not validator.is_valid(body)


def _decisions(path: str, body: Any, answer: Any) -> list[tuple[Any, bool, Any]]:
    """(the request, whether it is malformed, its answer) for each ACGS request in a call."""
    # A batch's items are decided alone: each is malformed or not by itself.
    if path == "/v1/batch/evaluate" and isinstance(body, dict) and isinstance(body.get("requests"), list):
        assert isinstance(answer, dict), answer
        items = zip(body["requests"], answer.get("responses", []), strict=False)
        return [(item, _malformed(EVALUATE, item), got) for item, got in items]
    return [(body, path == "/v1/batch/evaluate" or _malformed(EVALUATE, body), answer)]


@schemathesis.check
def no_allow_for_a_malformed_request(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """An ACGS request that is not valid (or a batch item that is not) is never allowed."""
    sent[case.operation.label] += 1
    if case.operation.path not in ACGS_PATHS:
        return
    body = None if isinstance(case.body, NotSet) else case.body
    try:
        answer = response.json()
    except ValueError:
        answer = None
    for request, malformed, decided in _decisions(case.operation.path, body, answer):
        allowed = _allows(decided)
        seen["malformed" if malformed else "allowed" if allowed else "denied"] += 1
        assert not (malformed and allowed), f"allowed a malformed request: {request!r}"


ORACLE: dict[str, str] = {}  # "url": a real `opa run --server` with the same bundle
OPA_PATHS = ("/v1/data", "/v0/data")


@schemathesis.check
def no_5xx_but_opas_own(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """No 5xx, except where OPA's own server answers the same request with the same 5xx (its
    Data API answers 500 for some paths, e.g. a numeric segment under a rule; `/v1/status`
    without its plugin; an empty query: the contract)."""
    if response.status_code < 500:
        return
    if case.operation.path.startswith(OPA_PATHS) or case.operation.path in OPA_SERVER_ROUTES:
        theirs = case.call(base_url=ORACLE["url"], timeout=30)
        if theirs.status_code == response.status_code:
            return
        raise AssertionError(f"{response.status_code} where OPA answers {theirs.status_code}: {response.text[:300]}")
    raise AssertionError(f"{response.status_code}: {response.text[:300]}")


@pytest.fixture(scope="module")
def service(opa_url: str) -> Iterator[str]:
    ORACLE["url"] = opa_url
    # OPA's paths answer a timed-out evaluation with OPA's 500: a deadline generous for a loaded
    # machine (a whole-data query takes ~20 ms alone; a 250 ms deadline was missed under load),
    # so that a 5xx here is one an input caused.
    with running_service("--eval-timeout-ms", "5000") as url:
        yield url


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as kept_alive:
        yield kept_alive


def test_the_served_document_is_the_one_fuzzed(service: str) -> None:
    with httpx.Client(base_url=service) as http:
        assert http.get("/openapi.json").json() == OPENAPI


# Loaded from the module the service serves (the test above checks they are the same): a
# fixture-loaded schema runs as pytest subtests, which this pytest does not support.
schema = schemathesis.openapi.from_dict(OPENAPI)
schema.config.generation.update(modes=["positive", "negative"], max_examples=EXAMPLES, deterministic=SEED is None)

# A request the policy allows: generated requests rarely are, so each generated body is also
# sent laid over it (the generated fields win: a malformed one stays malformed) and under it
# (its action and context win: what else was generated, malformed or not, rides along).
ALLOWED = {"action": "data.read", "context": {"agent": {"trust_level": 0.9}}}


def _variants(body: Any) -> st.SearchStrategy:
    if not isinstance(body, dict):
        return st.just(body)
    return st.sampled_from([body, {**ALLOWED, **body}, {**body, **ALLOWED}])


@schema.hook
def flatmap_body(ctx: schemathesis.HookContext, body: Any) -> st.SearchStrategy:
    path = ctx.operation.path if ctx.operation is not None else ""
    if path in ("/v1/evaluate", "/api/v1/evaluate"):
        return _variants(body)
    if path == "/v1/batch/evaluate" and isinstance(body, dict) and isinstance(body.get("requests"), list):
        items = st.tuples(*(_variants(item) for item in body["requests"]))
        return items.map(lambda requests: {**body, "requests": list(requests)})
    return st.just(body)


@pytest.mark.timeout(3600)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=SEED is None,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@(seed(int(SEED)) if SEED else lambda test: test)
def test_every_operation_holds_under_generated_requests(
    case: schemathesis.Case, service: str, session: requests.Session
) -> None:
    case.call_and_validate(
        base_url=service,
        session=session,
        checks=[
            no_5xx_but_opas_own,
            status_code_conformance,  # every answer's status is documented
            content_type_conformance,
            response_schema_conformance,
            no_allow_for_a_malformed_request,
        ],
        timeout=30,
    )


def test_the_run_sent_the_requests_it_promises() -> None:
    assert sum(sent.values()) >= REQUESTS, f"{sum(sent.values())} requests: {dict(sent)}"
    # The malformed-request check had something to catch: allowed requests, and malformed ones.
    assert seen["allowed"] > 0 and seen["malformed"] > 0, dict(seen)
    print(f"schemathesis: {sum(sent.values())} requests; ACGS requests {dict(seen)}")
