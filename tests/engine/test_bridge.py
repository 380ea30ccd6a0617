"""The bridge reports every failure as a typed error; nothing crashes the interpreter."""

import os
import threading
from pathlib import Path

import orjson
import pytest

from policy_engine.engine import (
    BundleError,
    CompileError,
    Engine,
    EngineError,
    EvaluationError,
    InvalidInput,
    UndefinedDecision,
)
from policy_engine.engine.bridge import ERROR, OK, load_bridge


def write_bundle(root: Path, rego: str, data: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "policy.rego").write_text(rego)
    if data is not None:
        (root / "data.json").write_text(orjson.dumps(data).decode())
    return root


def test_reports_the_pinned_opa_version(engine):
    assert engine.version()["opa"] == "1.22.3"


def test_revision_is_a_content_hash_and_the_manifest_revision_is_kept(engine, tmp_path):
    assert len(engine.revision) == 16
    assert engine.manifest_revision == "constitutional-1.0.0"
    a = Engine(write_bundle(tmp_path / "a", "package p\nx := 1\n"), query="data.p.x")
    b = Engine(write_bundle(tmp_path / "b", "package p\nx := 2\n"), query="data.p.x")
    again = Engine(write_bundle(tmp_path / "c", "package p\nx := 1\n"), query="data.p.x")
    assert a.revision != b.revision
    assert a.revision == again.revision


def test_loads_a_bundle_tarball(engine, tmp_path):
    import subprocess

    from policy_engine.bundle.locate import default_bundle, opa_binary

    tarball = tmp_path / "bundle.tar.gz"
    subprocess.run([opa_binary(), "build", "-b", str(default_bundle()), "-o", str(tarball)], check=True)
    packed = Engine(tarball)
    document = {"action": "data.read", "context": {"agent": {"trust_level": 0.5}}}
    assert packed.evaluate(document) == engine.evaluate(document)


def test_a_module_that_does_not_compile_names_file_and_line(tmp_path):
    bundle = write_bundle(tmp_path, "package p\n\nx := y\n")
    with pytest.raises(CompileError) as caught:
        Engine(bundle, query="data.p.x")
    assert "policy.rego:3" in caught.value.message
    assert "var y is unsafe" in caught.value.message


def test_a_missing_bundle_is_a_bundle_error(tmp_path):
    with pytest.raises(BundleError):
        Engine(tmp_path / "nowhere")


def test_a_query_that_does_not_parse_is_a_compile_error(engine):
    with pytest.raises(CompileError):
        engine.prepare("data.acgs[")


def test_undefined_is_distinguished_from_a_result(engine):
    prepared = engine.prepare("data.acgs.nothing_here")
    assert prepared.evaluate_json(b"{}") is None
    with pytest.raises(UndefinedDecision):
        prepared.evaluate({})
    assert engine.prepare("data.acgs.config.min_trust_safe").evaluate_json(None) == b"0.3"


@pytest.mark.parametrize("raw", [b"{bad", b"", b"{} {}", b'{"a": 1} x', b"\xff"])
def test_malformed_input_json_is_invalid_input(engine, raw):
    with pytest.raises(InvalidInput):
        engine.entrypoint.evaluate_json(raw)


def test_a_runtime_error_is_an_evaluation_error(tmp_path):
    bundle = write_bundle(tmp_path, "package p\n\nx := 1 if input.a\n\nx := 2 if input.b\n")
    engine = Engine(bundle, query="data.p.x")
    assert engine.evaluate({"a": True}) == 1
    with pytest.raises(EvaluationError) as caught:
        engine.evaluate({"a": True, "b": True})
    assert "conflict" in caught.value.message


def test_evaluate_many_keeps_order_and_isolates_failures(tmp_path):
    bundle = write_bundle(tmp_path, "package p\n\nx := 1 if input.a\n\nx := 2 if input.b\n")
    engine = Engine(bundle, query="data.p.x")
    results = engine.evaluate_many([{"a": True}, {}, {"b": True}, {"a": True, "b": True}])
    assert results[0] == 1
    assert isinstance(results[1], UndefinedDecision)
    assert results[2] == 2
    assert isinstance(results[3], EvaluationError)


def test_evaluate_many_fails_only_the_items_that_fail(engine):
    """Frames cross the bridge: a malformed or odd item fails alone, the others are answered."""
    items = engine.entrypoint.evaluate_many_json([b"{}", b'{"not json', b"[1e400]", b"{}"])
    assert [status for status, _ in items] == [OK, ERROR, OK, OK]
    assert items[0] == items[3] == (OK, engine.entrypoint.evaluate_json(b"{}"))


def test_a_number_that_is_not_json_is_an_error_not_a_body(tmp_path):
    """OPA keeps `to_number("+1")` as the text "+1"; written as is it would not be JSON."""
    write_bundle(tmp_path, 'package p\n\nn := to_number("+1")\n\nbig := 1e400\n')
    engine = Engine(tmp_path, query="data.p.n")
    with pytest.raises(EngineError):
        engine.entrypoint.evaluate_json(None)
    assert engine.prepare("data.p.big").evaluate_json(None) == b"1e400"


def test_a_go_panic_comes_back_as_an_error(engine):
    with pytest.raises(EngineError) as caught:
        load_bridge().selftest_panic()
    assert caught.value.code == "internal_error"
    assert "self-test panic" in caught.value.message
    assert engine.evaluate({"action": "x"})["rule"] == "default"


def test_a_released_handle_is_refused_not_dereferenced(tmp_path):
    engine = Engine(write_bundle(tmp_path, "package p\nx := 1\n"), query="data.p.x")
    prepared = engine.entrypoint
    prepared.close()
    prepared.close()  # idempotent
    with pytest.raises(EngineError) as caught:
        prepared.evaluate({})
    assert caught.value.code == "invalid_handle"


def test_a_prepared_query_outlives_the_engine_that_made_it(tmp_path):
    """A request that holds a prepared query finishes on it even if its bundle was let go."""
    engine = Engine(write_bundle(tmp_path, "package p\nx := 1\n"), query="data.p.x")
    prepared = engine.entrypoint
    engine.close()
    del engine
    assert prepared.evaluate({}) == 1


def test_threads_evaluate_concurrently_with_serial_results(engine):
    documents = [{"action": "data.read", "context": {"agent": {"trust_level": t / 100}}} for t in range(100)]
    expected = [engine.evaluate(d) for d in documents]
    results: dict[int, list] = {}

    def worker(n: int) -> None:
        results[n] = [engine.evaluate(d) for d in documents]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[n] == expected for n in range(8))


def test_a_rule_that_would_overwrite_bundle_data_is_refused_as_opa_refuses_it(tmp_path):
    write_bundle(tmp_path, 'package p\n\nk := "bar"\n', data={"p": {"k": "foo"}})
    with pytest.raises(EngineError, match="conflicting rule for data path p/k found"):
        Engine(tmp_path, query="data.p.k")


def test_opa_runtime_answers_the_version_and_environment(tmp_path, monkeypatch):
    write_bundle(tmp_path, "package p\n\nr := opa.runtime()\n")
    runtime = orjson.loads(Engine(tmp_path, query="data.p.r").entrypoint.evaluate_json(None))
    assert runtime["version"] == "1.22.3"
    assert runtime["env"]["PATH"] == os.environ["PATH"]
