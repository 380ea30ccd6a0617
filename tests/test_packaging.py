"""The wheel is the product: built from the sdist, installed into a fresh venv, it serves decisions.

The wheel is built as `make dist` builds it (sdist first, then the wheel from the sdist) except
that the bridge is the one `make setup` compiled (POLICY_ENGINE_BUILD_BRIDGE), not compiled again
from the sdist's Go sources: `make dist` exercises that path. The service then runs from the venv
with no project path anywhere: no PYTHONPATH, no POLICY_ENGINE_*/PE_* variables, no `opa` on
PATH, its working directory a temporary folder.
"""

import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from policy_engine.bench.engine_bench import ENTRYPOINT_PATH
from policy_engine.bench.opa_server import free_port, start_logged, stop, wait_for_http
from policy_engine.bundle.locate import REPO_ROOT
from policy_engine.workload.trace import WorkloadParams, generate

pytestmark = pytest.mark.timeout(600)

PRESENT_BRIDGE = REPO_ROOT / "build" / "libopabridge.so"


def _run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "POLICY_ENGINE_BUILD_BRIDGE": str(PRESENT_BRIDGE)}
    _run([sys.executable, "-m", "build", "--outdir", out, REPO_ROOT], env=env, cwd=out)
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (found,) = dist.glob("*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("fresh") / "venv"
    _run([sys.executable, "-m", "venv", where])
    # The caller's environment (its pip cache and index settings) without the project's paths.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith(("PE_", "POLICY_ENGINE_"))}
    _run([where / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check", wheel], env=env, cwd=where)
    return where


def clean_env(venv: Path) -> dict[str, str]:
    return {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(venv.parent), "LANG": "C.UTF-8"}


@pytest.fixture(scope="module")
def installed_url(venv: Path) -> Iterator[str]:
    port = free_port()
    cmd = [str(venv / "bin" / "policy-engine"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = start_logged(cmd, env={**clean_env(venv), "LOG_LEVEL": "warning"}, cwd=venv.parent)
    try:
        wait_for_http(port, "/ready", proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc, 20)


def test_the_wheel_is_tagged_for_this_platform_and_carries_the_bridge_and_the_bundle(wheel: Path):
    assert wheel.name.endswith("-py3-none-linux_x86_64.whl"), wheel.name
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "policy_engine/_artifacts/libopabridge.so" in names
    assert "policy_engine/_artifacts/bundle/acgs/constitutional/evaluate.rego" in names
    assert "policy_engine/_artifacts/bundle/data.json" in names


def test_the_sdist_has_what_building_the_bridge_needs(dist: Path):
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"setup.py", "bridge/go.mod", "bridge/go.sum", "bridge/abi.go", "policy/bundle/data.json"} <= names


def test_the_installed_package_finds_its_artifacts_inside_itself(venv: Path):
    code = "from policy_engine.bundle import locate; print(locate.bridge_library()); print(locate.default_bundle())"
    lines = _run([venv / "bin" / "python", "-c", code], env=clean_env(venv), cwd=venv.parent).stdout.split()
    site = next((venv / "lib").glob("python3*/site-packages")).resolve()
    artifacts = site / "policy_engine" / "_artifacts"
    assert [Path(line) for line in lines] == [artifacts / "libopabridge.so", artifacts / "bundle"]


def test_serve_runs_without_go_or_the_opa_cli(venv: Path):
    path = clean_env(venv)["PATH"]
    for tool in ("opa", "go"):
        assert _run(["sh", "-c", f"command -v {tool} || echo none"], env={"PATH": path}).stdout.strip() == "none"


def test_the_installed_service_decides_as_opa_does(installed_url: str, opa):
    with httpx.Client(base_url=installed_url, timeout=10) as http:
        assert http.get("/health").status_code == 200
        for body in generate(WorkloadParams(requests=30, seed=13)):
            response = http.post("/v1/evaluate", content=orjson.dumps(body))
            assert response.status_code == 200, response.text
            ours = response.json()
            opa_input = {"action": body["action"], "agent_id": body["agent_id"], "data": body["input_data"]}
            opa_input["context"] = body["context"]
            theirs = opa.decide(ENTRYPOINT_PATH, orjson.dumps(opa_input))["result"]
            for field in ("allow", "violations", "reason", "rule"):
                assert ours[field] == theirs[field], (body, field)
