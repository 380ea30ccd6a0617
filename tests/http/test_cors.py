"""CORS: none by default (a decision point is for services, not web pages); --cors-origins lists
the origins browsers may call from, or '*' for any (the old service's behaviour)."""

from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.support.service import client, running_service

BODY = orjson.dumps({"action": "data.read", "context": {"trust_level": 0.9}})
ALLOWED, OTHER = "https://console.example", "https://evil.example"


def preflight(http: httpx.Client, origin: str) -> httpx.Response:
    headers = {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
    }
    return http.options("/v1/evaluate", headers=headers)


@pytest.fixture(scope="module")
def listed() -> Iterator[httpx.Client]:
    with running_service("--cors-origins", f"{ALLOWED}, https://other.example") as url, client(url) as c:
        yield c


def test_by_default_no_origin_is_allowed(http):
    response = http.post("/v1/evaluate", content=BODY, headers={"origin": ALLOWED})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in preflight(http, ALLOWED).headers


def test_a_listed_origin_passes_the_preflight_and_reads_the_answer(listed):
    answer = preflight(listed, ALLOWED)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert answer.headers["access-control-allow-headers"] == "content-type"
    assert "access-control-allow-credentials" not in answer.headers
    response = listed.post("/v1/evaluate", content=BODY, headers={"origin": ALLOWED})
    assert response.status_code == 200 and response.json()["decision_id"]
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["vary"] == "Origin"


def test_an_origin_not_listed_is_refused(listed):
    assert preflight(listed, OTHER).status_code == 403
    response = listed.post("/v1/evaluate", content=BODY, headers={"origin": OTHER})
    assert "access-control-allow-origin" not in response.headers


def test_requests_without_an_origin_are_untouched(listed):
    response = listed.post("/v1/evaluate", content=BODY)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_star_allows_any_origin():
    with running_service("--cors-origins", "*") as url, client(url) as star:
        assert preflight(star, OTHER).headers["access-control-allow-origin"] == "*"
        response = star.get("/health", headers={"origin": OTHER})
        assert response.headers["access-control-allow-origin"] == "*"
