"""Default locations of the project's artifacts, overridable by environment variables.

The package is installed in editable mode by `make setup`, so the repository root is
three folders above this file.
"""

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_QUERY = "data.acgs.constitutional.evaluate"


def default_bundle() -> Path:
    return Path(os.environ.get("POLICY_ENGINE_BUNDLE", REPO_ROOT / "policy" / "bundle"))


def bridge_library() -> Path:
    return Path(os.environ.get("POLICY_ENGINE_BRIDGE", REPO_ROOT / "build" / "libopabridge.so"))


def opa_binary() -> str:
    """The pinned `opa` CLI that `make setup` installs, else one on PATH."""
    local = REPO_ROOT / ".tools" / "bin" / "opa"
    if "OPA_BIN" in os.environ:
        return os.environ["OPA_BIN"]
    if local.exists():
        return str(local)
    found = shutil.which("opa")
    if found is None:
        raise FileNotFoundError("no opa CLI: run `make setup` or set OPA_BIN")
    return found
