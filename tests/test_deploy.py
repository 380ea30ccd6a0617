"""The Kubernetes manifests (deploy/) and the Containerfile agree with the service they run.

The manifests are read with PyYAML as written (base and overlays); the service they describe is
started with the environment they give it, so a misspelt variable, a probe on a path the app does
not serve or a port that differs fails here, not in a cluster.
"""

import re
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path

import httpx
import pytest
import yaml

from policy_engine.bundle.locate import REPO_ROOT, opa_binary
from policy_engine.config import _LEGACY_NAMES, Settings
from tests.support.service import running_service

DEPLOY = REPO_ROOT / "deploy"
BASE = DEPLOY / "base"
OVERLAYS = sorted(p for p in (DEPLOY / "overlays").iterdir() if p.is_dir())
SERVICE_READS = {f"PE_{f.name.upper()}" for f in fields(Settings)} | set(_LEGACY_NAMES.values())


def documents(folder: Path) -> list[dict]:
    return [doc for path in sorted(folder.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def one(kind: str, folder: Path = BASE) -> dict:
    (found,) = [doc for doc in documents(folder) if doc["kind"] == kind]
    return found


def container(deployment: dict) -> dict:
    (found,) = deployment["spec"]["template"]["spec"]["containers"]
    return found


def containerfile() -> str:
    """With continuation lines joined."""
    return (REPO_ROOT / "Containerfile").read_text().replace("\\\n", " ")


def containerfile_env(name: str) -> str:
    match = re.search(rf"^ENV .*\b{name}=(\S+)", containerfile(), re.MULTILINE)
    assert match, f"Containerfile sets no {name}"
    return match.group(1)


def env_names(doc: dict) -> set[str]:
    return {entry["name"] for c in doc["spec"]["template"]["spec"]["containers"] for entry in c.get("env", [])}


def test_kustomizations_list_exactly_the_files_beside_them():
    for folder in [BASE, *OVERLAYS]:
        kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
        listed = {*kustomization.get("resources", []), *(p["path"] for p in kustomization.get("patches", []))}
        present = {p.name for p in folder.glob("*.yaml")} - {"kustomization.yaml"}
        assert {name for name in listed if not name.startswith("..")} == present, folder
        assert all((folder / name).exists() for name in listed), folder


def test_the_deployment_has_no_opa_sidecar_and_serves_the_service_port():
    deployment = one("Deployment")
    assert [c["name"] for c in deployment["spec"]["template"]["spec"]["containers"]] == ["policy-engine"]
    (port,) = container(deployment)["ports"]
    assert port["containerPort"] == Settings().port == 8001
    assert re.search(r"^EXPOSE 8001$", containerfile(), re.MULTILINE)
    (service_port,) = one("Service")["spec"]["ports"]
    assert service_port["targetPort"] == port["name"] and service_port["port"] == 8001
    (endpoint,) = one("ServiceMonitor")["spec"]["endpoints"]
    assert endpoint["port"] == service_port["name"] and endpoint["path"] == "/metrics"


def test_autoscaling_and_disruption_budget_follow_the_old_deployment():
    hpa = one("HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "policy-engine"}
    assert one("PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    deployment = container(one("Deployment"))
    assert {"requests", "limits"} <= set(deployment["resources"])


def test_every_environment_variable_named_is_one_the_service_reads():
    named = set(one("ConfigMap")["data"]) | env_names(one("Deployment"))
    for overlay in OVERLAYS:
        named |= {name for doc in documents(overlay) if doc.get("kind") == "Deployment" for name in env_names(doc)}
    assert named - SERVICE_READS == set()
    assert "REDIS_URL" in named


def test_redis_comes_from_a_secret_and_is_optional():
    (redis_url,) = [e for e in container(one("Deployment"))["env"] if e["name"] == "REDIS_URL"]
    reference = redis_url["valueFrom"]["secretKeyRef"]
    assert reference["optional"] is True and reference["name"] == "policy-engine-redis"


def test_the_pod_runs_as_the_image_user_on_a_read_only_root_with_tmp_writable():
    deployment = one("Deployment")
    pod = deployment["spec"]["template"]["spec"]["securityContext"]
    uid = int(re.search(r"^ARG UID=(\d+)$", containerfile(), re.MULTILINE).group(1))
    assert re.search(r"^USER \$\{UID\}", containerfile(), re.MULTILINE)
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == uid != 0
    security = container(deployment)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    mounts = {m["mountPath"]: m["name"] for m in container(deployment)["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mounts[containerfile_env("TMPDIR")]]


def test_the_image_carries_the_bundle_where_it_says():
    bundle = containerfile_env("PE_BUNDLE")
    assert re.search(rf"^COPY policy/bundle {re.escape(bundle)}$", containerfile(), re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*/health", containerfile(), re.MULTILINE)


def test_the_configmap_overlay_mounts_the_bundle_it_names():
    patch = next(doc for doc in documents(DEPLOY / "overlays" / "bundle-configmap") if doc["kind"] == "Deployment")
    env = {e["name"]: e.get("value") for e in container(patch)["env"]}
    (mount,) = container(patch)["volumeMounts"]
    assert Path(env["PE_BUNDLE"]).parent == Path(mount["mountPath"])


@pytest.fixture(scope="module")
def configmap_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle as the configmap overlay says to make it: `opa build -b policy/bundle`."""
    out = tmp_path_factory.mktemp("configmap") / "bundle.tar.gz"
    subprocess.run([opa_binary(), "build", "-b", str(REPO_ROOT / "policy" / "bundle"), "-o", str(out)], check=True)
    return out


def test_the_service_started_as_the_manifests_say_answers_their_probes(configmap_bundle: Path):
    patch = next(doc for doc in documents(DEPLOY / "overlays" / "bundle-configmap") if doc["kind"] == "Deployment")
    env = {**one("ConfigMap")["data"], **{e["name"]: e["value"] for e in container(patch)["env"] if "value" in e}}
    env["PE_BUNDLE"] = str(configmap_bundle)
    probes = container(one("Deployment"))
    paths = {probes[p]["httpGet"]["path"] for p in ("startupProbe", "livenessProbe", "readinessProbe")}
    with running_service(env=env) as url, httpx.Client(base_url=url, timeout=10) as http:
        for path in [*sorted(paths), one("ServiceMonitor")["spec"]["endpoints"][0]["path"]]:
            assert http.get(path).status_code == 200, path
        decision = http.post("/v1/evaluate", json={"action": "system.execute_shell"}).json()
        assert decision["violations"] == ["dangerous_action"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (its kustomize) is not installed")
def test_kustomize_renders_the_base_and_every_overlay():
    for folder in [BASE, *OVERLAYS]:
        rendered = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=True)
        kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(rendered.stdout))
        assert kinds == sorted(
            ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service", "ServiceMonitor"]
        ), folder
