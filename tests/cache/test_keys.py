"""Keys follow what the policy reads: a hit is never a wrong decision."""

import copy
import decimal
import json
import random
import subprocess

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_engine.bundle.locate import opa_binary
from policy_engine.cache.keys import KeyBuilder, L2Keys
from policy_engine.engine.engine import Engine
from policy_engine.engine.errors import InvalidInput
from tests.support.varied_inputs import varied_inputs

NOISE_KEYS = ["agent_id", "evaluation_id", "timestamp"]


@pytest.fixture(scope="module")
def keys(engine) -> KeyBuilder:
    return KeyBuilder(
        engine.revision, engine.entrypoint.query, engine.entrypoint.reads.paths, engine.entrypoint.cache_key
    )


def key_of(keys: KeyBuilder, document) -> bytes:
    return keys.key(orjson.dumps(document))


def decision(engine, document):
    return engine.entrypoint.evaluate_json(orjson.dumps(document))


def set_path(document: dict, path: tuple[str, ...], value) -> dict:
    changed = copy.deepcopy(document)
    node = changed
    for step in path[:-1]:
        if type(node.get(step)) is not dict:
            node[step] = {}
        node = node[step]
    node[path[-1]] = value
    return changed


def read_value(document: dict, path: tuple[str, ...]) -> bytes | None:
    """The JSON of the value at path as the policy reads it; None where it is undefined."""
    node = document
    for step in path:
        if type(node) is not dict or step not in node:
            return None
        node = node[step]
    return orjson.dumps(node)


@pytest.fixture(scope="module")
def reads_ab_and_c(tmp_path_factory) -> Engine:
    bundle = tmp_path_factory.mktemp("keys")
    (bundle / "p.rego").write_text("package t\n\np if input.a.b == 1\n\np if input.c[0] > 2048\n")
    return Engine(bundle, query="data.t.p")


def test_the_projection_keeps_only_read_paths_and_skips_what_is_absent(reads_ab_and_c):
    """An object on a read path stays even with nothing read under it (it is what the policy
    sees, and it keeps every way of projecting to the same bytes)."""
    project = reads_ab_and_c.entrypoint.cache_key
    assert project(b'{"a": {"b": 1, "x": 2}, "c": [1], "d": 3}') == b'{"a":{"b":1},"c":[1]}'
    assert project(b'{"a": "not an object", "c": null}') == b'{"c":null}'
    assert project(b'{"a": {}}') == b'{"a":{}}'
    assert project(b'{"a": {"x": 1}}') == b'{"a":{}}'
    assert project(b"[1, 2]") == b"{}"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (b"2048", b"2048.0000000000001"),  # equal as floats, not to OPA
        (b"18446744073709551616", b"18446744073709551617"),
        (b"1", b"1.0"),
        (b"0", b"-0"),
        (b"1e400", b"1e401"),
        (b"0.1", b"0.10000000000000000000000000001"),
    ],
)
def test_numbers_keep_their_text_in_keys(reads_ab_and_c, one, other):
    project = reads_ab_and_c.entrypoint.cache_key
    assert project(b'{"c": [%b]}' % one) != project(b'{"c": [%b]}' % other)


def test_strings_are_keyed_as_opa_reads_them(reads_ab_and_c):
    project = reads_ab_and_c.entrypoint.cache_key
    assert project(b'{"c": ["\\u0041"]}') == project(b'{"c": ["A"]}')
    assert project(b'{"c": ["\\ud800"]}') == project(b'{"c": ["\\ufffd"]}')  # OPA reads a lone surrogate as U+FFFD


def test_a_key_names_revision_and_the_whole_entrypoint(keys, engine):
    key = key_of(keys, {"action": "data.read"})
    assert key.startswith(engine.revision.encode() + b"\0")
    other = KeyBuilder(engine.revision, "data.other.entrypoint", (), engine.entrypoint.cache_key)
    assert other.key(b'{"action": "data.read"}') != key


def test_residual_names_that_collided_in_32_bits_get_different_keys(engine):
    """`x.aaaaaaacdpdvte` was searched for offline: its residual's 32-bit name hash equalled
    `compute.analyze`'s, and it was served that action's cached allow."""
    query = engine.entrypoint.query
    first = KeyBuilder(engine.revision, f"{query}#action=compute.analyze", (), lambda raw: b"{}")
    second = KeyBuilder(engine.revision, f"{query}#action=x.aaaaaaacdpdvte", (), lambda raw: b"{}")
    assert first.key(b"{}") != second.key(b"{}")


def test_l2_keys_are_keyed_256_bit_hashes(engine):
    l1_key = engine.revision.encode() + b'\0"q"\0{}'
    plain, keyed = L2Keys()(l1_key), L2Keys(b"deployment secret")(l1_key)
    assert plain.startswith(f"pe:v2:{engine.revision}:") and len(plain.rsplit(":", 1)[1]) == 64
    assert keyed != plain
    assert L2Keys(b"deployment secret")(l1_key) == keyed


def test_changing_any_read_path_changes_the_key(engine, keys):
    rng = random.Random(3)
    documents = [d for d in varied_inputs(300, seed=21) if type(d) is dict]
    for path in engine.entrypoint.reads.paths:
        for document in documents:
            for value in (rng.random(), "changed", None, True, {"n": 1}):
                changed = set_path(document, path, value)
                if read_value(changed, path) != read_value(document, path):
                    assert key_of(keys, changed) != key_of(keys, document), (path, document)


def test_equal_projections_get_equal_decisions_over_varied_inputs(engine, keys):
    rng = random.Random(5)
    for document in varied_inputs(1500, seed=23):
        if type(document) is not dict:
            continue
        noisy = copy.deepcopy(document)
        for name in NOISE_KEYS:
            noisy[name] = rng.random()
        if type(noisy.get("context")) is dict:
            noisy["context"]["request_id"] = str(rng.random())
            noisy["context"]["unread"] = {"anything": rng.random()}
        assert key_of(keys, noisy) == key_of(keys, document)
        assert decision(engine, noisy) == decision(engine, document)


json_leaf = st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-2, 2, allow_nan=False) | st.text(max_size=5)


@settings(max_examples=400, deadline=None)
@given(
    action=st.sampled_from(["data.read", "model.train", "evolve_agent", "execute_in_sandbox", "system.execute_shell"]),
    trust=json_leaf,
    audit=json_leaf,
    sandbox=json_leaf,
    resources=st.dictionaries(st.sampled_from(["cpu_cores", "memory_gb", "gpus"]), json_leaf, max_size=3),
    noise=st.dictionaries(st.text(max_size=5), json_leaf, max_size=3),
)
def test_property_same_projection_same_decision(engine, keys, action, trust, audit, sandbox, resources, noise):
    context = {
        "agent": {"trust_level": trust, "requested_resources": resources, "id": "a"},
        "environment": {"audit_enabled": audit, "sandbox_enabled": sandbox},
    }
    document = {"action": action, "context": context, "data": {}}
    noisy = {
        **document,
        "agent_id": noise,
        "context": {**context, "request_id": noise, **{f"x{k}": v for k, v in noise.items()}},
    }
    assert key_of(keys, noisy) == key_of(keys, document)
    assert decision(engine, noisy) == decision(engine, document)


def test_the_old_four_field_key_returns_wrong_decisions(engine):
    """The old plan keyed on (action, agent id, sandbox flag, trust level): on this policy two
    requests with that same key get different decisions, so such a cache serves wrong ones."""

    def four_field_key(document: dict) -> tuple:
        context = document["context"]
        return (
            document["action"],
            document["agent_id"],
            context["environment"]["sandbox_enabled"],
            context["agent"]["trust_level"],
        )

    base = {
        "action": "model.train",
        "agent_id": "agent-1",
        "context": {
            "agent": {"trust_level": 0.9, "requested_resources": {"cpu_cores": 1}},
            "environment": {"sandbox_enabled": True, "audit_enabled": True},
            "responsible_party": "ops",
        },
    }
    counterexamples = [
        set_path(base, ("context", "environment", "audit_enabled"), False),
        set_path(base, ("context", "agent", "requested_resources"), {"cpu_cores": 64}),
        set_path(base, ("context", "responsible_party"), ""),
    ]
    for other in counterexamples:
        assert four_field_key(other) == four_field_key(base)
        assert decision(engine, other) != decision(engine, base)


def exact(text: bytes) -> object:
    return json.loads(text, parse_float=decimal.Decimal, parse_constant=str)


@settings(max_examples=300, deadline=None)
@given(
    document=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c"]), children),
        max_leaves=12,
    )
)
def test_both_ways_of_projecting_give_the_same_value(reads_ab_and_c, document):
    """Plain documents are projected in Python, the others by the bridge: for any document the
    two agree on the value (their bytes may differ: that only costs a second cache entry)."""
    entry = reads_ab_and_c.entrypoint
    keys = KeyBuilder("r", "q", entry.reads.paths, entry.cache_key)
    raw = json.dumps({"a": {"b": document, "x": 1}, "c": document, "d": document}).encode()
    assert exact(keys.projection(raw)) == exact(entry.cache_key(raw))


@pytest.mark.parametrize(
    ("one", "other"), [(b"0", b"-0"), (b"[0]", b"[-0]"), (b'{"z": 0}', b'{"z": -0}'), (b"0", b"0.0"), (b"1", b"1.0")]
)
def test_a_key_tells_apart_numbers_python_would_merge(reads_ab_and_c, one, other):
    entry = reads_ab_and_c.entrypoint
    keys = KeyBuilder("r", "q", entry.reads.paths, entry.cache_key)
    assert keys.key(b'{"c": %b}' % one) != keys.key(b'{"c": %b}' % other)


@pytest.mark.parametrize(
    "raw",
    [
        # where the policy does not read
        b'{"a": {"b": 1}, "extra": 1e99999999999}',
        b'{"a": {"b": 1}, "a": {"x": 1e-99999999999}}',
        b'{"a": {"b": 1}, "a": {"b": 1, "z": [1E+99999999999]}}',
        # where it reads: on the fast way floats keep their text unchecked (msgspec.Raw), so the
        # whole-document scan for long exponents is what keeps these from a key
        b'{"x": 1, "a": {"b": 1e99999}}',
        b'{"x": 1, "c": [1E+0099999]}',
        b'{"x": 1, "c": [0, [-5.5e-99999]]}',
        b'{"x": 1, "c":\n\t1e99999}',
        b'{"x": 1, "c": {"n":-1e99999}}',
    ],
)
def test_no_key_for_an_input_opa_refuses_read_or_not(reads_ab_and_c, raw):
    """An out-of-range number anywhere makes OPA refuse the whole input: no key may make it a
    twin of a readable input and serve that one's cached answer."""
    entry = reads_ab_and_c.entrypoint
    keys = KeyBuilder("r", "q", entry.reads.paths, entry.cache_key)
    with pytest.raises(InvalidInput):
        entry.evaluate_json(raw)  # OPA's own refusal
    with pytest.raises(InvalidInput):
        keys.key(raw)


@settings(max_examples=500, deadline=None)
@given(
    document=st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text()
        | st.text(st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010), max_size=3)  # lone surrogates
        | st.sampled_from([-0.0, 1e-7, 2.5e300]),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c", "é", ""]), children)
        ),
        max_leaves=12,
    ),
    ascii_only=st.booleans(),
)
def test_the_read_path_structs_write_the_canonical_projection(reads_ab_and_c, document, ascii_only):
    """The fast way (structs that decode only the read paths) and the general way give the same
    bytes: which way a document takes never changes its key."""
    entry = reads_ab_and_c.entrypoint
    keys = KeyBuilder("r", "q", entry.reads.paths, entry.cache_key)
    whole = {"a": {"b": document, "x": document}, "c": document, "d": document}
    raw = json.dumps(whole, ensure_ascii=ascii_only).encode(errors="surrogatepass")  # not UTF-8 where not ASCII
    assert keys.projection(raw) == keys._canonical_projection(raw)


@pytest.mark.parametrize(
    ("document", "fast"),
    [
        (b'{"a": {"b": 1}, "id": "187b495e2816"}', True),
        (b'{"a": {"b": 1}, "t": "2026-01-05T00:00:00Z"}', True),
        (b'{"a": {"b": 1}, "n": 1e2816}', False),  # OPA may refuse the whole input for it
        (b'{"a": {"b": 1}, "n": [-0.5E-0001]}', False),
        (b'{"a": {"b": 1}, "z": -0}', True),  # not read: it changes no key
        (b'{"a": {"b": -0}}', False),  # read: msgspec would write 0
        (b'{"c": [1, -0 ]}', False),
        (b'{"a": {"b": 0}, "z": "-0"}', True),
        (b'{"a": {"b": "x:0,"}, "z": -0}', False),  # a 0 in a string: a second look
        (b'{"c": [0, -0.0, -0e1, 10]}', True),
        (b'{"c": [18446744073709551616, 2.5e300]}', True),  # msgspec reads big integers exactly
    ],
)
def test_only_numbers_msgspec_may_misread_leave_the_fast_way(reads_ab_and_c, document, fast):
    entry = reads_ab_and_c.entrypoint
    keys = KeyBuilder("r", "q", entry.reads.paths, entry.cache_key)
    slower = []  # the documents the general way or the bridge was asked for
    keys._canonical_projection = lambda raw: slower.append(raw) or KeyBuilder._canonical_projection(keys, raw)
    bridge = keys._bridge_projection
    keys._bridge_projection = lambda raw: slower.append(raw) or bridge(raw)
    projection = keys.projection(document)
    assert (slower == []) is fast
    assert exact(projection) == exact(entry.cache_key(document))


@pytest.mark.parametrize("document", [b'{"c": 1}}', b'{"c": 1} ]', b"[1]]"])
def test_no_key_for_an_input_with_data_after_its_value(tmp_path, document):
    """msgspec refuses these and hands them to the bridge, whose reader must refuse them too, as
    `opa eval` does, rather than read the first value and key it."""
    (tmp_path / "p.rego").write_text('package t\n\nr contains ["c", json.marshal(input.c)]\n')
    entry = Engine(tmp_path, query="data.t.r").entrypoint
    keys = KeyBuilder("r", "q", entry.reads.paths, entry.cache_key)
    (tmp_path / "input.json").write_bytes(document)
    opa = subprocess.run(
        [opa_binary(), "eval", "-d", str(tmp_path / "p.rego"), "-i", str(tmp_path / "input.json"), "data.t.r"],
        capture_output=True,
        text=True,
    )
    assert opa.returncode != 0 and "unable to parse input" in opa.stderr  # OPA's refusal
    with pytest.raises(InvalidInput):
        keys.key(document)


def test_a_key_opa_reads_through_a_replaced_byte_is_a_read_key(tmp_path):
    """OPA reads the key b"\\xff" as "\ufffd": the projection must see it as the policy does."""
    (tmp_path / "p.rego").write_text('package t\n\np if input["\\ufffd"] == 1\n')
    engine = Engine(tmp_path, query="data.t.p")
    entry = engine.entrypoint
    keys = KeyBuilder("r", "q", entry.reads.paths, entry.cache_key)
    replaced, absent = b'{"\xff": 1}', b'{"x": 1}'
    assert entry.evaluate_json(replaced) != entry.evaluate_json(absent)
    assert keys.key(replaced) != keys.key(absent)


@pytest.mark.parametrize(
    "unread",
    [
        b'"extra": 1' + b"0" * 30200 + b"e1",  # a long mantissa: beyond OPA's range with a one-digit exponent
        b'"extra": 0.' + b"0" * 30200 + b"1e-1",
        b'"extra": [1' + b"0" * 30200 + b".5E+0]",
    ],
    ids=["large", "small", "in-an-array"],
)
def test_no_key_for_a_number_out_of_opas_range_by_its_mantissa(reads_ab_and_c, unread):
    """OPA's range check counts the mantissa's digits with the exponent (ast.NumberChecked):
    a number with a short exponent is refused too, and no key may serve it a readable twin's answer."""
    entry = reads_ab_and_c.entrypoint
    keys = KeyBuilder("r", "q", entry.reads.paths, entry.cache_key)
    raw = b'{"a": {"b": 1}, %b}' % unread
    with pytest.raises(InvalidInput):
        entry.evaluate_json(raw)  # OPA's own refusal: "invalid number: number too big"
    with pytest.raises(InvalidInput):
        keys.key(raw)


def test_no_key_for_an_input_nested_deeper_than_opa_reads(reads_ab_and_c):
    """OPA's decoder refuses nesting past 10,000 levels; the service raises Python's recursion
    limit past that (jsontext), so msgspec reads a little deeper: the key must not."""
    import policy_engine.jsontext  # noqa: F401  (as in the service: the recursion limit raised)

    entry = reads_ab_and_c.entrypoint
    keys = KeyBuilder("r", "q", entry.reads.paths, entry.cache_key)
    depth = 10_001
    raw = b'{"a": {"b": 1}, "x": %b}' % (b"[" * depth + b"]" * depth)
    with pytest.raises(InvalidInput):
        entry.evaluate_json(raw)  # OPA's own refusal: exceeded max depth
    with pytest.raises(InvalidInput):
        keys.key(raw)


@pytest.mark.parametrize("name", ['a"b', "a\\b", "a\nb", "\x7f\x01"])
def test_a_read_key_any_string_can_be_keyed(tmp_path, name):
    """A policy may read any key (`input["a\\"b"]`): its key builder builds, and tells the key apart."""
    (tmp_path / "p.rego").write_text(f"package t\n\np if input[{json.dumps(name)}] == 1\n")
    entry = Engine(tmp_path, query="data.t.p").entrypoint
    keys = KeyBuilder("r", "q", entry.reads.paths, entry.cache_key)
    present, absent = orjson.dumps({name: 1}), b'{"x": 1}'
    assert entry.evaluate_json(present) != entry.evaluate_json(absent)
    assert keys.key(present) != keys.key(absent)
