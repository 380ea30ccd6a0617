"""What an entrypoint reads of its input, from the compiled rules."""

from pathlib import Path

from policy_engine.engine import Engine
from tests.engine.test_bridge import write_bundle


def reads_of(tmp_path: Path, rego: str, query: str = "data.p.x"):
    return Engine(write_bundle(tmp_path, rego), query=query).entrypoint.reads


def test_the_constitutional_policy_never_reads_per_request_noise(engine):
    paths = set(engine.entrypoint.reads.paths)
    assert ("action",) in paths
    assert ("context", "agent", "trust_level") in paths
    assert ("context", "agent", "requested_resources") in paths  # cut at the variable key
    for noise in [
        ("agent_id",),
        ("evaluation_id",),
        ("timestamp",),
        ("context",),
        ("context", "request_id"),
    ]:
        assert noise not in paths
    assert not any(p[:2] == ("context", "agent") and p[2:] == ("id",) for p in paths)
    assert engine.entrypoint.reads.cacheable


def test_paths_are_cut_where_the_reference_stops_being_constant(tmp_path):
    rego = "package p\n\nx if {\n\tsome k\n\tinput.a.b[k].c == 1\n\tinput.d[0] == 2\n}\n"
    reads = reads_of(tmp_path, rego)
    assert set(reads.paths) == {("a", "b"), ("d",)}


def test_reads_through_rules_and_functions_are_followed(tmp_path):
    rego = "package p\n\nx := f(y)\n\ny := input.q\n\nf(v) := v if input.r.s\n\nf(v) := 0 if not input.r.s\n"
    assert set(reads_of(tmp_path, rego).paths) == {("q",), ("r", "s")}


def test_a_path_under_another_read_path_is_dropped(tmp_path):
    rego = "package p\n\nx if {\n\tinput.a.b == 1\n\tcount(input.a) > 0\n}\n"
    assert reads_of(tmp_path, rego).paths == (("a",),)


def test_reading_input_whole_is_flagged_not_cacheable(tmp_path):
    reads = reads_of(tmp_path, "package p\n\nx := count(input)\n")
    assert reads.whole_input
    assert not reads.cacheable


def test_nondeterministic_builtins_are_flagged_not_cacheable(tmp_path):
    reads = reads_of(tmp_path, "package p\n\nx := time.now_ns() if input.a\n")
    assert reads.nondeterministic == ("time.now_ns",)
    assert not reads.cacheable


def test_a_data_ref_that_is_not_constant_reaches_every_rule_under_its_prefix(tmp_path):
    """`data.p.denies[name]` may be any rule under data.p.denies: all of their reads count."""
    rego = (
        'package p\n\nchecks := ["low_trust"]\n\n'
        "x contains name if {\n\tsome name in checks\n\tdata.p.denies[name]\n}\n\n"
        'denies.low_trust if input.context.trust < 0.5\n\ndenies.shell if input.action == "shell"\n'
    )
    assert set(reads_of(tmp_path, rego).paths) == {("context", "trust"), ("action",)}


def test_dynamic_refs_into_data_and_imports_are_followed(tmp_path):
    rego = 'package p\n\nimport data.q as h\n\nx if {\n\tsome k in ["a"]\n\th[k]\n}\n\ny if data[input.pkg].z.w\n'
    write_bundle(tmp_path, rego)
    (tmp_path / "q.rego").write_text("package q\n\na if input.deep.a\n")
    (tmp_path / "z.rego").write_text("package other.z\n\nw if input.elsewhere\n")
    assert set(Engine(tmp_path, query="data.p.x").entrypoint.reads.paths) == {("deep", "a")}
    assert set(Engine(tmp_path, query="data.p.y").entrypoint.reads.paths) == {("pkg",), ("elsewhere",)}


def test_every_and_comprehensions_over_helpers_are_followed(tmp_path):
    rego = (
        'package p\n\nnames := ["a", "b"]\n\nx if {\n\tevery n in names {\n\t\tdata.p.helpers[n]\n\t}\n}\n\n'
        "helpers.a if input.one\n\nhelpers.b if input.two\n"
    )
    assert set(reads_of(tmp_path, rego).paths) == {("one",), ("two",)}


def test_a_builtin_replaced_with_with_is_judged_by_its_replacement(tmp_path):
    reads = reads_of(tmp_path, "package p\n\nx := y if {\n\ty := upper(input.a) with upper as uuid.rfc4122\n}\n")
    assert "uuid.rfc4122" in reads.nondeterministic
    assert not reads.cacheable


def test_clock_dependent_builtins_opa_does_not_flag_are_not_cacheable(tmp_path):
    rego = "package p\n\nx := crypto.x509.parse_and_verify_certificates(input.chain)\n"
    reads = reads_of(tmp_path, rego)
    assert reads.nondeterministic == ("crypto.x509.parse_and_verify_certificates",)
    assert not reads.cacheable
