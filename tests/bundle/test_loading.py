"""Loading a bundle as `opa run` loads one: signatures, Rego versions, one revision per content."""

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from policy_engine.engine.engine import Engine, LoadOptions, Verification
from policy_engine.engine.errors import EngineError
from tests.bundle.conftest import copy_bundle, new_rsa_keys, opa_build


def verifying(public: Path, algorithm: str = "RS256", **kw) -> LoadOptions:
    return LoadOptions(verification=Verification(str(public), algorithm=algorithm, **kw))


def tampered(bundle: Path, out: Path) -> Path:
    """The same signed tarball with one byte of the policy changed (the signature kept)."""
    with tarfile.open(bundle) as source:
        members = [(m, source.extractfile(m).read() if m.isfile() else None) for m in source.getmembers()]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as target:
        for member, payload in members:
            if payload is not None and member.name.endswith(".rego"):
                payload = payload.replace(b"0.3", b"0.0", 1)
                member.size = len(payload)
            target.addfile(member, io.BytesIO(payload) if payload is not None else None)
    out.write_bytes(gzip.compress(buffer.getvalue()))
    return out


def test_a_signed_bundle_loads_with_its_key(tmp_path, rsa_keys):
    private, public = rsa_keys
    signed = opa_build(copy_bundle(tmp_path / "b"), tmp_path / "signed.tar.gz", "--signing-key", str(private))
    assert Engine(signed, options=verifying(public)).manifest_revision == "constitutional-1.0.0"


@pytest.mark.parametrize(
    ("case", "why"),
    [("unsigned", "missing .signatures.json"), ("tampered", "digest mismatch"), ("wrong key", "verification")],
)
def test_unsigned_tampered_and_wrongly_keyed_bundles_are_refused(tmp_path, rsa_keys, case, why):
    private, public = rsa_keys
    source = copy_bundle(tmp_path / "b")
    signed = opa_build(source, tmp_path / "signed.tar.gz", "--signing-key", str(private))
    bundle, key = {
        "unsigned": (opa_build(source, tmp_path / "unsigned.tar.gz"), public),
        "tampered": (tampered(signed, tmp_path / "tampered.tar.gz"), public),
        "wrong key": (signed, new_rsa_keys(tmp_path)[1]),
    }[case]
    with pytest.raises(EngineError, match=why):
        Engine(bundle, options=verifying(key))


def test_hs256_signatures_with_a_shared_secret(tmp_path):
    signed = opa_build(
        copy_bundle(tmp_path / "b"), tmp_path / "s.tar.gz", "--signing-key", "s3cret", "--signing-alg", "HS256"
    )
    assert Engine(signed, options=verifying(Path("s3cret"), "HS256")).revision
    with pytest.raises(EngineError):
        Engine(signed, options=verifying(Path("wrong"), "HS256"))


def test_a_rego_v0_policy_loads_with_v0_compatible_or_by_its_manifest(tmp_path):
    v0 = "package p\n\nallow { input.x == 1 }\n\nnames[n] { n := input.names[_] }\n"
    for folder in ("flag", "manifest"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "p.rego").write_text(v0)
    (tmp_path / "manifest" / ".manifest").write_text('{"rego_version": 0}')
    with pytest.raises(EngineError):
        Engine(tmp_path / "flag", query="data.p.allow")  # Rego v1 by default, as OPA 1.x
    for engine in (
        Engine(tmp_path / "flag", query="data.p.allow", options=LoadOptions(v0_compatible=True)),
        Engine(tmp_path / "manifest", query="data.p.allow"),
    ):
        assert engine.entrypoint.evaluate({"x": 1}) is True
        assert engine.prepare("data.p.names").evaluate({"names": ["a", "b"]}) == ["a", "b"]


def test_the_same_content_is_one_revision_whatever_its_packaging(tmp_path):
    directory = copy_bundle(tmp_path / "bundle")
    tarball = opa_build(directory, tmp_path / "bundle.tar.gz")
    assert Engine(directory).revision == Engine(tarball).revision
    changed = copy_bundle(tmp_path / "changed", min_trust_safe=0.4)
    assert Engine(changed).revision != Engine(directory).revision


def test_a_manifest_selects_rego_versions_per_file(tmp_path):
    (tmp_path / "old.rego").write_text("package p\n\nallow { input.x == 1 }\n")
    (tmp_path / "new.rego").write_text("package q\n\nallow if input.x == 1\n")
    (tmp_path / ".manifest").write_text('{"rego_version": 1, "file_rego_versions": {"/old.rego": 0}}')
    engine = Engine(tmp_path, query="data.p.allow")
    assert engine.entrypoint.evaluate({"x": 1}) is True
    assert engine.prepare("data.q.allow").evaluate({"x": 1}) is True
