"""OPA's server in the bridge follows the active bundle: after a reload, the answers it gives
(here `explain`, `/v1/policies`) are the new revision's, as the service's own fast path's are."""

import shutil
import time

import httpx
import orjson

from policy_engine.bundle.locate import default_bundle
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
