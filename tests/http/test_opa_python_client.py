"""opa-python-client, method by method, against this service and against `opa run --server` on
the same bundle: the same outcome (the same value, or the same exception) for every method.

Deliberate differences, each checked below: `get_metrics` (each serves its own Prometheus
metrics), and writes outside the bundle's roots (OPA accepts them into its store; this
service serves its bundle only and refuses them with OPA's 400). Writes under the roots are
refused by both, with the same code and message.
"""

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opa_client.opa import OpaClient

from policy_engine.bench.opa_server import opa_server
from policy_engine.bundle.locate import default_bundle
from tests.support.service import running_service

INPUT = {"action": "data.read", "context": {"agent": {"trust_level": 0.9}}}
_ADDRESS = re.compile(r"http://127\.0\.0\.1:\d+")
POLICY_UNDER_ROOTS = "package acgs.extra\n\nallow := true\n"


@pytest.fixture(scope="module")
def clients() -> Iterator[tuple[OpaClient, OpaClient]]:
    """(ours, OPA's): a fresh OPA of its own, since the write methods are tried on it too."""
    bundle = str(default_bundle())
    with running_service("--bundle", bundle) as ours, opa_server(Path(bundle)) as theirs:
        yield _client(ours), _client(theirs)


def _client(url: str) -> OpaClient:
    host, port = url.removeprefix("http://").split(":")
    return OpaClient(host=host, port=int(port), timeout=10)


def outcome(call: Callable[[OpaClient], Any], client: OpaClient) -> tuple[str, Any]:
    try:
        return "value", _comparable(call(client))
    except Exception as exc:
        return "raised", type(exc).__name__


def _comparable(value: Any) -> Any:
    """Decision ids, timings, cache counters, the instance's id and its address differ by nature:
    left out."""
    if isinstance(value, dict):
        return {
            k: _comparable(v)
            for k, v in value.items()
            if k not in ("decision_id", "labels") and not k.startswith(("timer_", "histogram_", "counter_"))
        }
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, str):
        return _ADDRESS.sub("http://ADDRESS", value)
    return value


def _policy_id(client: OpaClient) -> str:
    return client.get_policies_list()[0]


METHODS: dict[str, Callable[[OpaClient], Any]] = {
    "check_connection": lambda c: c.check_connection(),
    "check_health": lambda c: c.check_health(),
    "check_health_bundles": lambda c: c.check_health({"bundles": True}),
    "check_health_plugins": lambda c: c.check_health({"plugins": True}),
    "wait_for_ready": lambda c: c.wait_for_ready(timeout=2),
    "get_config": lambda c: c.get_config(),
    "get_status": lambda c: c.get_status(),  # both: 500, the status plugin is not enabled
    "get_policies_list": lambda c: c.get_policies_list(),
    "get_policies_info": lambda c: c.get_policies_info(),
    "get_policy": lambda c: c.get_policy(_policy_id(c)),
    "get_policy_missing": lambda c: c.get_policy("no/such/policy"),
    "get_data": lambda c: c.get_data("acgs/config/max_harm_risk"),
    "get_data_whole": lambda c: c.get_data("acgs/config"),
    "get_data_params": lambda c: c.get_data("acgs/config/min_trust_safe", {"metrics": True, "provenance": True}),
    "get_data_missing": lambda c: c.get_data("acgs/nothing/here"),
    "get_data_system_version": lambda c: c.get_data("system/version"),
    "query_rule": lambda c: c.query_rule(INPUT, "acgs.constitutional", "evaluate"),
    "query_rule_explain": lambda c: c.query_rule(
        INPUT, "acgs.config", "max_harm_risk", {"explain": "full", "pretty": True}
    ),
    "query_rule_notes": lambda c: c.query_rule(INPUT, "acgs.config", "min_benefit", {"explain": "notes"}),
    "query_rule_instrument": lambda c: c.query_rule(INPUT, "acgs.constitutional", "evaluate", {"instrument": True}),
    "query_rule_strict": lambda c: c.query_rule(
        INPUT, "acgs.constitutional", "evaluate", {"strict-builtin-errors": True}
    ),
    "ad_hoc_query": lambda c: c.ad_hoc_query("x = data.acgs.config.max_harm_risk"),
    "ad_hoc_query_input": lambda c: c.ad_hoc_query("x = input.a", input_data={"a": 1}),
    "ad_hoc_query_bad": lambda c: c.ad_hoc_query("x ="),
    "bulk_query_rule": lambda c: c.bulk_query_rule(
        [INPUT, {"action": "system.execute_shell"}], "acgs.constitutional", "evaluate"
    ),
    "compile_query": lambda c: c.compile_query("data.acgs.config.min_trust_safe > input.x", unknowns=["input"]),
    "update_policy_under_roots": lambda c: c.update_policy_from_string(POLICY_UNDER_ROOTS, "extra"),
    "update_data_under_roots": lambda c: c.update_or_create_data({"x": 1}, "acgs/x"),
    "patch_data_under_roots": lambda c: c.patch_data("acgs", [{"op": "add", "path": "/x", "value": 1}]),
    "delete_policy_of_bundle": lambda c: c.delete_policy(_policy_id(c)),
    "delete_data_under_roots": lambda c: c.delete_data("acgs/config"),
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_same_outcome_as_opa(clients, name):
    ours, theirs = clients
    expected = outcome(METHODS[name], theirs)
    assert outcome(METHODS[name], ours) == expected


def test_policy_to_file_same_outcome_and_file(clients, tmp_path):
    ours, theirs = clients
    expected = outcome(lambda c: c.policy_to_file(_policy_id(c), str(tmp_path), "theirs.rego"), theirs)
    assert outcome(lambda c: c.policy_to_file(_policy_id(c), str(tmp_path), "ours.rego"), ours) == expected
    theirs_file, ours_file = tmp_path / "theirs.rego", tmp_path / "ours.rego"
    assert theirs_file.exists() == ours_file.exists()
    if theirs_file.exists():
        assert ours_file.read_text() == theirs_file.read_text()


def test_metrics_differ_deliberately_but_both_are_prometheus_text(clients):
    ours, theirs = clients
    assert "# TYPE" in ours.get_metrics()
    assert "# TYPE" in theirs.get_metrics()


def test_writes_outside_the_roots_are_refused_here_accepted_by_opa(clients):
    ours, theirs = clients
    assert theirs.update_or_create_data({"x": 1}, "elsewhere") is True
    with pytest.raises(Exception, match="writes through the REST API are refused"):
        ours.update_or_create_data({"x": 1}, "elsewhere")
