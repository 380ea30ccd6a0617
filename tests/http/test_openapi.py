"""The OpenAPI document: a valid OpenAPI 3.1 document that describes every route the app serves."""

import asyncio
import copy
import re

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from policy_engine.config import Settings
from policy_engine.http.app import App
from policy_engine.http.opa_native import OPA_SERVER_ROUTES
from policy_engine.http.openapi import OPENAPI

ERRORS_WHERE_THEY_OCCUR = {
    ("/v1/evaluate", "post"): {"408", "413", "415", "422", "431", "503"},
    ("/v1/batch/evaluate", "post"): {"408", "413", "415", "422", "431", "503"},
    ("/v1/data/{path}", "post"): {"400", "408", "413", "415", "431", "500", "503"},
    ("/v0/data/{path}", "post"): {"400", "404", "408", "413", "415", "431", "500", "503"},
    ("/v1/batch/data/{path}", "post"): {"400", "408", "413", "415", "431", "503"},
    ("/v1/compile", "post"): {"400", "403", "408", "413", "415", "431", "500", "503"},
    ("/ready", "get"): {"503"},
}


def served_routes() -> set[tuple[str, str]]:
    """(path, method) for every route of a started app, and for the endpoints of OPA's own server
    that it reaches through its fallback; a prefix route serves its own path and the paths below it."""

    async def started() -> App:
        app = App(Settings.from_env({}))
        await app.startup()
        await app.shutdown()
        return app

    app = asyncio.run(started())
    routes = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    for prefix, methods in app.prefixes:
        routes |= {(path, method.lower()) for path in (prefix, prefix + "/{path}") for method in methods}
    return routes | {(path, method.lower()) for path, methods in OPA_SERVER_ROUTES.items() for method in methods}


def documented_routes() -> set[tuple[str, str]]:
    return {(path, method) for path, methods in OPENAPI["paths"].items() for method in methods}


def test_the_document_is_valid_openapi_3_1():
    assert OPENAPI["openapi"].startswith("3.1.")
    validate(OPENAPI)


def test_the_validator_refuses_a_3_1_document_declared_as_3_0():
    mixed = copy.deepcopy(OPENAPI)
    mixed["openapi"] = "3.0.3"  # its nullable types are 3.1's
    with pytest.raises(OpenAPIValidationError):
        validate(mixed)


def test_every_route_the_app_serves_is_documented_and_nothing_else():
    assert served_routes() == documented_routes()


@pytest.mark.parametrize(("path", "method"), sorted(ERRORS_WHERE_THEY_OCCUR))
def test_the_errors_an_operation_answers_are_documented(path, method):
    assert ERRORS_WHERE_THEY_OCCUR[(path, method)] <= set(OPENAPI["paths"][path][method]["responses"])


def test_every_operation_answers_json_or_text_with_a_schema():
    """(OPA's index page, `GET /`, is its HTML.)"""
    for path, methods in OPENAPI["paths"].items():
        for method, operation in methods.items():
            for status, answer in operation["responses"].items():
                assert re.fullmatch(r"[1-5][0-9][0-9]", status), (path, method, status)
                for media, described in answer["content"].items():
                    page = ("text/html",) if (path, method) == ("/", "get") else ()
                    assert media in ("application/json", "text/plain", *page), (path, method, status, media)
                    assert "schema" in described, (path, method, status, media)
