"""The engine decides exactly as real OPA (the `opa` CLI's server, same version) does."""

import os
import subprocess

import orjson
import pytest

from policy_engine.bench.engine_bench import ENTRYPOINT_PATH, workload_inputs
from policy_engine.bundle.locate import DEFAULT_QUERY, default_bundle, opa_binary
from policy_engine.workload.trace import WorkloadParams
from tests.support.varied_inputs import varied_inputs

COUNT = int(os.environ.get("PE_DIFFERENTIAL_INPUTS", "3000"))


@pytest.fixture(scope="module")
def inputs() -> list:
    return varied_inputs(COUNT) + [orjson.loads(i) for i in workload_inputs(WorkloadParams(requests=500))]


def test_every_decision_equals_opa_server(engine, opa, inputs):
    mismatches = []
    for document in inputs:
        raw = orjson.dumps(document)
        ours = engine.entrypoint.evaluate_json(raw)
        theirs = opa.decide(ENTRYPOINT_PATH, raw).get("result")
        if (orjson.loads(ours) if ours is not None else None) != theirs:
            mismatches.append((document, ours, theirs))
    assert not mismatches, f"{len(mismatches)} of {len(inputs)} differ, first: {mismatches[0]}"


def test_the_policy_is_defined_for_every_input(engine, inputs):
    undefined = [d for d in inputs if engine.entrypoint.evaluate_json(orjson.dumps(d)) is None]
    assert not undefined[:1]


def test_batched_decisions_equal_single_decisions(engine, inputs):
    sample = inputs[:1000]
    batched = []
    for start in range(0, len(sample), 100):
        batched += engine.evaluate_many(sample[start : start + 100])
    assert batched == [engine.evaluate(d) for d in sample]


def test_projected_input_gets_the_same_decision(engine, inputs):
    """The projection is only a key, but it must hold all the decision depends on."""
    evaluate, project = engine.entrypoint.evaluate_json, engine.entrypoint.cache_key
    differ = [d for d in inputs if evaluate(project(orjson.dumps(d))) != evaluate(orjson.dumps(d))]
    assert not differ[:1]


def test_opa_eval_cli_agrees_on_a_sample(engine, tmp_path):
    """The CLI's `opa eval` itself, on a few inputs (the server above covers the thousands)."""
    for n, document in enumerate(varied_inputs(25, seed=11)):
        path = tmp_path / f"input{n}.json"
        path.write_bytes(orjson.dumps(document))
        out = subprocess.run(
            [
                opa_binary(),
                "eval",
                "-f",
                "json",
                "-b",
                str(default_bundle()),
                "-i",
                str(path),
                DEFAULT_QUERY,
            ],
            check=True,
            capture_output=True,
        ).stdout
        expected = orjson.loads(out)["result"][0]["expressions"][0]["value"]
        assert engine.evaluate(document) == expected, document
