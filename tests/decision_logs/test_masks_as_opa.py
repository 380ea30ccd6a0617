"""Masks and drops as OPA applies them: the same bundle and inputs through `opa run --server` with
decision logs on its console, and through the service logging to a file; the events must agree."""

import httpx
import orjson
import pytest

from policy_engine.bench import servers
from tests.support.decision_logs import bundle_with, file_events, opa_console_events, opa_logging_to_console, wait_until

MASKS = """package system.log

mask contains "/input/secret"

mask contains "/input/absent"

mask contains "/input/context/agent/token" if input.input.context.agent.token

mask contains {"op": "upsert", "path": "/input/password", "value": "***"}

mask contains {"op": "upsert", "path": "/input/made/on/the/way", "value": 1}

mask contains "/result/reason" if input.input.action == "hide_reason"

mask contains "/input/list/0"

mask contains "/input" if input.input.action == "erase_all"

drop if input.input.action == "noise"
"""

INPUTS = [
    {"action": "data.read", "secret": "s3cr3t", "password": "hunter2", "context": {"agent": {"trust_level": 0.9}}},
    {"action": "data.read", "context": {"agent": {"trust_level": 0.2, "token": "abc"}}, "list": [1, 2, 3]},
    {"action": "hide_reason", "secret": 1},
    {"action": "noise", "secret": "dropped with its event"},
    {"action": "erase_all", "password": "x"},
    {"action": "evolve_agent", "list": [], "n": 2048.0000000000001},
]

PATH = "acgs/constitutional/evaluate"
COMPARED = ("path", "input", "result", "erased", "masked")


def ask_both(opa_url: str, service_url: str) -> None:
    with httpx.Client(timeout=10) as http:
        for given in INPUTS:
            body = orjson.dumps({"input": given})
            for url in (opa_url, service_url):
                assert http.post(f"{url}/v1/data/{PATH}", content=body).status_code == 200


def comparable(events: list[dict]) -> list[dict]:
    return [{k: e.get(k) for k in COMPARED} for e in events]


@pytest.mark.timeout(120)
def test_the_bundles_mask_and_drop_rules_give_opas_events(tmp_path):
    bundle = bundle_with(tmp_path, "bundle", {"system/log/mask.rego": MASKS})
    log = tmp_path / "decisions.jsonl"
    with (
        opa_logging_to_console(bundle, tmp_path) as (opa_url, opa_out),
        servers.running_service("--bundle", str(bundle), "--decision-log-file", str(log)) as service,
    ):
        ask_both(opa_url, service.url)
        kept = len(INPUTS) - 1  # one is dropped
        assert wait_until(lambda: len(opa_console_events(opa_out)) >= kept and len(file_events(log)) >= kept)
    ours, theirs = file_events(log), opa_console_events(opa_out)
    assert len(ours) == len(theirs) == kept
    assert comparable(ours) == comparable(theirs)
    assert any(e.get("masked") for e in ours) and any(e.get("erased") for e in ours)
    assert all("noise" not in orjson.dumps(e).decode() for e in ours)


@pytest.mark.timeout(120)
def test_a_static_mask_removes_what_the_same_opa_mask_removes(tmp_path):
    static = ["/input/secret", "/result/rule", "/input/context/agent/token"]
    rules = "package system.log\n\n" + "".join(f'mask contains "{p}"\n\n' for p in static)
    bundle = bundle_with(tmp_path, "opa-bundle", {"system/log/mask.rego": rules})
    log = tmp_path / "decisions.jsonl"
    args = ("--decision-log-file", str(log), "--decision-log-mask", ",".join(static))
    with (
        opa_logging_to_console(bundle, tmp_path) as (opa_url, opa_out),
        servers.running_service(*args) as service,
    ):
        ask_both(opa_url, service.url)
        assert wait_until(lambda: len(opa_console_events(opa_out)) >= len(INPUTS) <= len(file_events(log)))
    ours, theirs = file_events(log), opa_console_events(opa_out)
    assert comparable(ours) == comparable(theirs)
    assert all("secret" not in (e.get("input") or {}) for e in ours)
