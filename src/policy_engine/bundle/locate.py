"""Default locations of the project's artifacts, overridable by environment variables.

An installed wheel carries the compiled bridge and the default bundle inside the package
(policy_engine/_artifacts/, put there by setup.py at build time); an editable checkout
(`make setup`) has neither there and uses the repository's build/ and policy/bundle instead.
"""

import os
import shutil
from pathlib import Path

PACKAGE_ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts"
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_QUERY = "data.acgs.constitutional.evaluate"
BRIDGE_NAME = "libopabridge.so"


def _packaged_or_checkout(packaged: Path, checkout: Path) -> Path:
    return packaged if packaged.exists() else checkout


def default_bundle() -> Path:
    if "POLICY_ENGINE_BUNDLE" in os.environ:
        return Path(os.environ["POLICY_ENGINE_BUNDLE"])
    return _packaged_or_checkout(PACKAGE_ARTIFACTS / "bundle", REPO_ROOT / "policy" / "bundle")


def bridge_library() -> Path:
    if "POLICY_ENGINE_BRIDGE" in os.environ:
        return Path(os.environ["POLICY_ENGINE_BRIDGE"])
    return _packaged_or_checkout(PACKAGE_ARTIFACTS / BRIDGE_NAME, REPO_ROOT / "build" / BRIDGE_NAME)


def opa_binary() -> str:
    """The pinned `opa` CLI that `make setup` installs, else one on PATH (tests and benchmarks only)."""
    local = REPO_ROOT / ".tools" / "bin" / "opa"
    if "OPA_BIN" in os.environ:
        return os.environ["OPA_BIN"]
    if local.exists():
        return str(local)
    found = shutil.which("opa")
    if found is None:
        raise FileNotFoundError("no opa CLI: run `make setup` or set OPA_BIN")
    return found
