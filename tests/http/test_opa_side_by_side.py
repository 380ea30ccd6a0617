"""Raw requests, side by side: this service and `opa run --server` on the same bundle answer the
same status and the same body (decision ids, timings and cache counters aside) for every OPA
endpoint and parameter.

Deliberate difference: an unknown path or method gets OPA's error shape as JSON
({"code", "message"}) here; OPA's router answers them in plain text (404) or with no body (405).
"""

import gzip
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import orjson
import pytest

from policy_engine.bench.opa_server import opa_server
from policy_engine.bundle.locate import default_bundle
from tests.support.service import running_service

EVALUATE = "/v1/data/acgs/constitutional/evaluate"
INPUT = {"action": "data.read", "context": {"agent": {"trust_level": 0.9}}}
SHELL = {"action": "system.execute_shell"}


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[httpx.Client, httpx.Client]]:
    bundle = str(default_bundle())
    with (
        running_service("--bundle", bundle) as ours,
        opa_server(Path(bundle)) as theirs,
        httpx.Client(base_url=ours, timeout=10) as a,
        httpx.Client(base_url=theirs, timeout=10) as b,
    ):
        yield a, b


def comparable(value):
    """Decision ids, timings, cache counters and the instance's id left out; a trace event's
    locals sorted (OPA lists them in Go's map order, which changes from run to run)."""
    if isinstance(value, dict):
        return {
            k: sorted(map(orjson.dumps, v)) if k == "locals" and isinstance(v, list) else comparable(v)
            for k, v in value.items()
            if k not in ("decision_id", "labels") and not k.startswith(("timer_", "histogram_", "counter_"))
        }
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def body_of(response: httpx.Response):
    return comparable(response.json()) if response.content.strip() else None


def _q(document) -> str:
    return quote(orjson.dumps(document).decode())


JSON = {"Content-Type": "application/json"}
YAML = {"Content-Type": "application/x-yaml"}

# (method, path with parameters, body, headers)
REQUESTS = [
    ("GET", f"{EVALUATE}?input={_q(INPUT)}", None, {}),
    ("GET", f"{EVALUATE}?input={_q(SHELL)}", None, {}),
    ("GET", f"{EVALUATE}?input=%7Bbad", None, {}),
    ("GET", "/v1/data/acgs/config/max_harm_risk?pretty=true", None, {}),
    ("GET", "/v1/data/acgs/config/max_harm_risk?explain=full", None, {}),
    ("GET", "/v1/data/acgs/config/max_harm_risk?explain=full&pretty=true", None, {}),
    ("GET", "/v1/data/acgs/config/max_harm_risk?explain=notes", None, {}),
    ("GET", "/v1/data/acgs/config/max_harm_risk?explain=fails", None, {}),
    ("GET", "/v1/data/acgs/config/max_harm_risk?explain=debug", None, {}),
    ("POST", f"{EVALUATE}?explain=full", {"input": SHELL}, JSON),
    ("POST", f"{EVALUATE}?metrics=true", {"input": INPUT}, JSON),
    ("POST", f"{EVALUATE}?instrument=true", {"input": INPUT}, JSON),
    ("POST", f"{EVALUATE}?provenance=true", {"input": INPUT}, JSON),
    ("POST", f"{EVALUATE}?strict-builtin-errors=true", {"input": INPUT}, JSON),
    ("POST", f"{EVALUATE}?partial=true", {"input": INPUT}, JSON),
    ("POST", EVALUATE, b"input:\n  action: system.execute_shell\n", YAML),
    ("GET", "/v1/data/system/version", None, {}),
    ("GET", "/v1/query?q=x%20%3D%20data.acgs.config.max_harm_risk", None, {}),
    ("GET", "/v1/query?q=x%20%3D", None, {}),
    ("POST", "/v1/query", {"query": "x = input.a", "input": {"a": 2}}, JSON),
    ("POST", "/v1/query?explain=notes", {"query": 'trace("hi"); x = 1'}, JSON),
    ("POST", "/", {"a": 1}, JSON),
    ("GET", "/v1/policies", None, {}),
    ("GET", "/v1/policies/no/such", None, {}),
    ("PUT", "/v1/policies/extra", b"package acgs.extra\n\nallow := true\n", {"Content-Type": "text/plain"}),
    ("PUT", "/v1/data/acgs/x", 1, JSON),
    ("PATCH", "/v1/data/acgs", [{"op": "add", "path": "/x", "value": 1}], JSON),
    ("DELETE", "/v1/data/acgs/config", None, {}),
    ("GET", "/v1/config", None, {}),
    ("GET", "/v1/status", None, {}),
    ("GET", "/health/live", None, {}),
    ("GET", "/health/ready", None, {}),
    ("POST", "/v1/compile", {"query": "data.acgs.config.min_trust_safe > input.x", "unknowns": ["input"]}, JSON),
    ("POST", "/v1/compile", {"query": "x ="}, JSON),
    ("POST", "/v1/compile", {"query": "data.acgs.nope[x]"}, JSON),
    ("POST", "/v1/compile/acgs/config/min_trust_safe", {"unknowns": ["input"]}, JSON),
    ("POST", "/v1/compile/acgs/config/min_trust_safe", {}, {**JSON, "Accept": "application/vnd.opa.ucast.all+json"}),
    ("DELETE", "/v1/policies/no/such", None, {}),
    ("GET", "/health/%40K", None, {}),
]


@pytest.mark.parametrize(("method", "path", "body", "headers"), REQUESTS, ids=[f"{m} {p}" for m, p, _, _ in REQUESTS])
def test_same_status_and_body_as_opa(pair, method, path, body, headers):
    ours, theirs = pair
    content = body if isinstance(body, bytes) else (orjson.dumps(body) if body is not None else None)
    expected = theirs.request(method, path, content=content, headers=headers)
    got = ours.request(method, path, content=content, headers=headers)
    assert (got.status_code, body_of(got)) == (expected.status_code, body_of(expected))


def test_get_input_is_evaluated_not_ignored(pair):
    """The wrong-allow risk of issue 15: a GET's input must reach the policy."""
    ours, _ = pair
    denied = ours.get(f"{EVALUATE}?input={_q(SHELL)}").json()["result"]
    allowed = ours.get(f"{EVALUATE}?input={_q(INPUT)}").json()["result"]
    assert (denied["allow"], allowed["allow"]) == (False, True)


def test_gzip_request_bodies_as_opa(pair):
    ours, theirs = pair
    content = gzip.compress(orjson.dumps({"input": SHELL}))
    headers = {**JSON, "Content-Encoding": "gzip"}
    expected = theirs.post(EVALUATE, content=content, headers=headers)
    got = ours.post(EVALUATE, content=content, headers=headers)
    assert (got.status_code, body_of(got)) == (expected.status_code, body_of(expected)) == (200, body_of(expected))
    assert body_of(got)["result"]["allow"] is False


def test_gzip_request_on_the_acgs_api(pair):
    ours, _ = pair
    request = {"action": "system.execute_shell", "context": {}}
    plain = ours.post("/v1/evaluate", json=request).json()
    zipped = ours.post(
        "/v1/evaluate", content=gzip.compress(orjson.dumps(request)), headers={**JSON, "Content-Encoding": "gzip"}
    )
    assert zipped.status_code == 200
    assert zipped.json()["violations"] == plain["violations"]


def test_gzip_bomb_is_413(pair):
    ours, _ = pair
    content = gzip.compress(b'{"input":"' + b"a" * (4 * 1024 * 1024) + b'"}')
    assert len(content) < 1024 * 1024
    response = ours.post(EVALUATE, content=content, headers={**JSON, "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert response.json()["code"] == "invalid_parameter"


@pytest.mark.parametrize("path", ["/v1/data/acgs?pretty=true", "/v1/data/acgs"])
def test_data_responses_gzipped_above_the_threshold_when_accepted(pair, path):
    ours, theirs = pair
    for client in (ours, theirs):
        zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers.get("content-encoding") == "gzip"
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert comparable(zipped.json()) == comparable(plain.json())


def test_policies_are_not_gzipped_as_opa_does_not(pair):
    ours, theirs = pair
    for client in (ours, theirs):
        assert "content-encoding" not in client.get("/v1/policies", headers={"Accept-Encoding": "gzip"}).headers


def test_small_responses_are_not_gzipped(pair):
    ours, theirs = pair
    for client in (ours, theirs):
        response = client.get("/v1/data/acgs/config/max_harm_risk", headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in response.headers


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/nope"), ("DELETE", "/v1/query"), ("GET", "/v2/x")])
def test_unknown_paths_and_methods_get_opas_error_shape(pair, method, path):
    ours, theirs = pair
    got = ours.request(method, path)
    assert got.status_code == theirs.request(method, path).status_code or path == "/v2/x"
    assert set(got.json()) >= {"code", "message"} or path == "/v2/x"
