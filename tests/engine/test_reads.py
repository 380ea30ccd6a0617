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
