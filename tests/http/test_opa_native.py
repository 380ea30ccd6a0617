"""OPA's server in the bridge: it follows the active bundle (after a reload, the answers it gives
are the new revision's, as the service's own fast path's are), and `POST /` answers the decision
--default-decision names, as OPA configured with the same default_decision answers it."""

import shutil
import time

import httpx
import orjson

from policy_engine.bench.opa_server import free_port, serving
from policy_engine.bundle.locate import default_bundle, opa_binary
from tests.support.service import running_service


def test_answers_follow_a_bundle_reload(tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(default_bundle(), bundle)
    with (
        running_service("--bundle", str(bundle), "--bundle-poll-seconds", "0.2") as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        path = "/v1/data/acgs/config/max_harm_risk"
        assert client.get(f"{path}?explain=notes").json()["result"] == 0.2
        data = orjson.loads((bundle / "data.json").read_bytes())
        data["acgs"]["config"]["max_harm_risk"] = 0.25
        (bundle / "data.json").write_bytes(orjson.dumps(data))
        deadline = time.monotonic() + 20
        while client.get(path).json()["result"] != 0.25 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.get(path).json()["result"] == 0.25
        assert client.get(f"{path}?explain=notes").json()["result"] == 0.25
        assert client.get("/v1/query?q=x%20%3D%20data.acgs.config.max_harm_risk").json() == {"result": [{"x": 0.25}]}


def test_post_root_answers_the_default_decision_as_opa_with_the_same_setting():
    bundle = str(default_bundle())
    decision = "/acgs/constitutional/evaluate"
    port = free_port()
    cmd = [opa_binary(), "run", "--server", "--addr", f"127.0.0.1:{port}", "--log-level", "error"]
    cmd += ["--set", f"default_decision={decision}", "--bundle", bundle]
    body = orjson.dumps({"action": "system.execute_shell"})
    with (
        running_service("--bundle", bundle, "--default-decision", decision) as url,
        serving(cmd, port, "/health?bundles", stop_timeout=10),
    ):
        ours = httpx.post(f"{url}/", content=body, headers={"Content-Type": "application/json"})
        theirs = httpx.post(f"http://127.0.0.1:{port}/", content=body, headers={"Content-Type": "application/json"})
    assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json())
    assert ours.json()["violations"] == ["dangerous_action"]


def test_a_path_with_an_escaped_control_character_is_opas_answer_not_a_500(http):
    for method in ("PUT", "PATCH", "DELETE"):
        response = http.request(method, "/v1/data/a%1Ab", content=b"[]" if method == "PATCH" else b"{}")
        assert response.status_code < 500, (method, response.text)
        assert "net/url" not in response.text
