"""--authentication token --authorization basic: the bundle's system.authz policy decides every
request (OPA's input: method, path as a list, params, headers, identity, and the body of the
POSTs OPA gives it for), as `opa run` with the same flags and the same bundle decides it."""

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from policy_engine.bench.opa_server import free_port
from policy_engine.bundle.locate import default_bundle, opa_binary
from tests.support.service import running_service

AUTHZ = """package system.authz

default allow := false

# The ACGS decision API: the right token only.
allow if {
    input.identity == "s3cret"
    input.path == ["v1", "evaluate"]
}

# OPA's Data API: the right token, and only for data.read (the body is the policy's to read).
allow if {
    input.identity == "s3cret"
    input.method == "POST"
    input.path[0] == "v1"
    input.path[1] == "data"
    input.body.input.action == "data.read"
}

allow if {
    input.identity == "s3cret"
    input.path == ["metrics"]
}

# A refusal with its reason, as OPA's authorizer reads {"allowed", "reason"}.
allow := {"allowed": false, "reason": "queries are closed"} if input.path == ["v1", "query"]
"""

TOKEN = {"Authorization": "Bearer s3cret"}
WRONG = {"Authorization": "Bearer nope"}
READ = {"input": {"action": "data.read", "context": {"agent": {"trust_level": 0.9}}}}
SHELL = {"input": {"action": "system.execute_shell"}}
ACGS = {"action": "data.read", "context": {"agent": {"trust_level": 0.9}}}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("authz") / "bundle"
    shutil.copytree(default_bundle(), directory)
    manifest = orjson.loads((directory / ".manifest").read_bytes())
    manifest["roots"] = [*manifest["roots"], "system"]
    (directory / ".manifest").write_bytes(orjson.dumps(manifest))
    (directory / "system").mkdir()
    (directory / "system" / "authz.rego").write_text(AUTHZ)
    return directory


@pytest.fixture(scope="module")
def ours(bundle) -> Iterator[httpx.Client]:
    args = ("--bundle", str(bundle), "--authentication", "token", "--authorization", "basic")
    with running_service(*args) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def theirs(bundle) -> Iterator[httpx.Client]:
    port = free_port()
    cmd = [opa_binary(), "run", "--server", "--addr", f"127.0.0.1:{port}", "--log-level", "error"]
    cmd += ["--authentication", "token", "--authorization", "basic", "--bundle", str(bundle)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # OPA's /health is authorized too: any answer means it listens.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(
    ("headers", "status"), [({}, 401), (WRONG, 401), (TOKEN, 200)], ids=["missing", "wrong", "right"]
)
def test_tokens_on_the_acgs_api(ours, headers, status):
    response = ours.post("/v1/evaluate", json=ACGS, headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.json() == {"code": "unauthorized", "message": "request rejected by administrative policy"}


def test_a_path_the_policy_does_not_allow_is_refused_with_the_right_token(ours):
    assert ours.post("/v1/batch/evaluate", json={"requests": [ACGS]}, headers=TOKEN).status_code == 401


def test_metrics_are_covered(ours):
    assert ours.get("/metrics").status_code == 401
    assert ours.get("/metrics", headers=TOKEN).status_code == 200


@pytest.mark.parametrize("path", ["/health", "/health/live", "/ready"])
def test_exempt_paths_need_no_token(ours, path):
    assert ours.get(path).status_code != 401


REQUESTS = [
    ("POST", "/v1/data/acgs/constitutional/evaluate", READ, {}),
    ("POST", "/v1/data/acgs/constitutional/evaluate", READ, WRONG),
    ("POST", "/v1/data/acgs/constitutional/evaluate", READ, TOKEN),
    ("POST", "/v1/data/acgs/constitutional/evaluate", SHELL, TOKEN),
    ("POST", "/v1/data/acgs/constitutional/evaluate?explain=notes", READ, TOKEN),
    ("GET", "/v1/data/acgs/config", None, TOKEN),
    ("GET", "/v1/policies", None, TOKEN),
    ("POST", "/v1/query", {"query": "x = 1"}, TOKEN),
]


@pytest.mark.parametrize(("method", "path", "body", "headers"), REQUESTS)
def test_decided_as_opa_decides(ours, theirs, method, path, body, headers):
    content = orjson.dumps(body) if body is not None else None
    expected = theirs.request(method, path, content=content, headers=headers)
    got = ours.request(method, path, content=content, headers=headers)
    assert got.status_code == expected.status_code
    if expected.status_code != 200:
        assert got.json() == expected.json()
    else:
        assert got.json()["result"] == expected.json()["result"]


def test_authorization_off_by_default_costs_nothing_and_allows(http):
    assert http.post("/v1/evaluate", json=ACGS).status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"{bad", "application/json"), (b"a: [1", "application/x-yaml")],
)
def test_a_body_the_authorizer_cannot_read_is_400_as_in_opa(ours, theirs, body, content_type):
    headers = {**TOKEN, "Content-Type": content_type}
    path = "/v1/data/acgs/constitutional/evaluate"
    got = ours.post(path, content=body, headers=headers)
    assert got.status_code == theirs.post(path, content=body, headers=headers).status_code == 400
    assert got.json()["code"] == "invalid_parameter"


def test_a_yaml_set_is_read_as_opa_reads_it(ours, theirs):
    headers = {**TOKEN, "Content-Type": "application/x-yaml"}
    path = "/v1/data/acgs/constitutional/evaluate"
    expected = theirs.post(path, content=b"!!set {a}", headers=headers)
    got = ours.post(path, content=b"!!set {a}", headers=headers)
    assert (got.status_code, got.json()) == (expected.status_code, expected.json())


def _l1_hits(metrics_text: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith('cache_hits_total{tier="l1"}'):
            return float(line.split()[-1])
    return 0.0


def test_the_authz_decision_is_cached(ours):
    """/metrics decides nothing itself: between two scrapes, the one hit is the second's authz."""
    ours.get("/metrics", headers=TOKEN)
    first = _l1_hits(ours.get("/metrics", headers=TOKEN).text)
    second = _l1_hits(ours.get("/metrics", headers=TOKEN).text)
    assert second - first == 1
