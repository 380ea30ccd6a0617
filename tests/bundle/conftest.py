"""Bundles made as operators make them: with the real `opa build` and keys from openssl."""

import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from policy_engine.bundle.locate import default_bundle, opa_binary


def copy_bundle(to: Path, min_trust_safe: float | None = None) -> Path:
    """The project's bundle, optionally with another safe-action threshold (a different revision)."""
    shutil.copytree(default_bundle(), to)
    if min_trust_safe is not None:
        data = orjson.loads((to / "data.json").read_bytes())
        data["acgs"]["config"]["min_trust_safe"] = min_trust_safe
        (to / "data.json").write_bytes(orjson.dumps(data))
    return to


def opa_build(source: Path, out: Path, *signing: str) -> Path:
    """`opa build -b source -o out [signing flags]`: a .tar.gz bundle."""
    subprocess.run([opa_binary(), "build", "-b", str(source), "-o", str(out), *signing], check=True)
    return out


def new_rsa_keys(folder: Path) -> tuple[Path, Path]:
    """(private key, public key) in PEM files, made by openssl."""
    private, public = folder / "key.pem", folder / "pub.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True)
    subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-out", str(public)], check=True, capture_output=True
    )
    return private, public


@pytest.fixture(scope="session")
def rsa_keys(tmp_path_factory) -> tuple[Path, Path]:
    return new_rsa_keys(tmp_path_factory.mktemp("keys"))
