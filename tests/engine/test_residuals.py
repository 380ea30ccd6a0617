"""Partial evaluation per action: residual decisions equal full decisions equal OPA's."""

import os
import random

import orjson
import pytest

from policy_engine.bench.engine_bench import ENTRYPOINT_PATH, workload_inputs
from policy_engine.cache.keys import KeyBuilder
from policy_engine.engine import Engine
from policy_engine.engine.residuals import config_actions, specialise
from policy_engine.workload.trace import WorkloadParams
from tests.cache.test_keys import set_path
from tests.support.varied_inputs import varied_inputs

COUNT = int(os.environ.get("PE_RESIDUAL_INPUTS", "10000"))


@pytest.fixture(scope="module")
def residuals(engine: Engine) -> dict:
    actions = config_actions(engine) | set(engine.entrypoint.reads.comparisons["action"])
    return specialise(engine, engine.entrypoint, actions | {"model.train", "data.write", "network.request"})


def test_every_action_of_the_policy_gets_a_residual(residuals):
    assert {"data.read", "evolve_agent", "execute_in_sandbox", "require_human_review", "data.exfiltrate"} <= set(
        residuals
    )
    assert len(residuals) == 24


def test_residuals_read_only_what_their_branch_reads(residuals):
    assert residuals["data.read"].reads.paths == (("context", "agent", "trust_level"),)
    assert residuals["system.execute_shell"].reads.paths == ()
    assert set(residuals["evolve_agent"].reads.paths) == {
        ("data", "constitutional_compliance"),
        ("data", "fitness_improvement"),
        ("data", "safety_score"),
    }
    general = set(residuals["model.train"].reads.paths)
    assert ("context", "agent", "trust_level") in general
    assert ("context", "explanation") not in general  # model.train needs no explanation
    assert ("context", "explanation") in set(residuals["data.process_personal"].reads.paths)


def test_residual_equals_full_equals_opa(engine, opa, residuals):
    inputs = varied_inputs(COUNT, seed=31) + [
        orjson.loads(i) for i in workload_inputs(WorkloadParams(requests=1000, seed=3))
    ]
    checked = 0
    for document in inputs:
        action = document.get("action") if type(document) is dict else None
        residual = residuals.get(action) if type(action) is str else None
        if residual is None:
            continue
        raw = orjson.dumps(document)
        full = engine.entrypoint.evaluate_json(raw)
        assert residual.evaluate_json(raw) == full, document
        assert orjson.loads(full) == opa.decide(ENTRYPOINT_PATH, raw)["result"], document
        checked += 1
    assert checked >= COUNT * 8 // 10


def test_residual_keys_are_sound(engine, residuals):
    """The cache soundness checks, over every residual's own key."""
    rng = random.Random(9)
    documents = [d for d in varied_inputs(400, seed=41) if type(d) is dict]
    for action, residual in residuals.items():
        name = f"{engine.entrypoint.query}#action={action}"
        keys = KeyBuilder(engine.revision, name, residual.reads.paths, residual.cache_key)
        for document in documents:
            document = {**document, "action": action}
            key = keys.key(orjson.dumps(document))
            noisy = {**document, "agent_id": str(rng.random())}
            if type(document.get("context")) is dict:  # noise, not a new object on a read path
                noisy = set_path(noisy, ("context", "request_id"), rng.random())
            assert keys.key(orjson.dumps(noisy)) == key
            assert residual.evaluate_json(orjson.dumps(noisy)) == residual.evaluate_json(orjson.dumps(document))
            for path in residual.reads.paths:
                changed = set_path(document, path, rng.random())
                assert keys.key(orjson.dumps(changed)) != key, (action, path)
