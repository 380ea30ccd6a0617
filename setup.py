"""Build hooks: the wheel carries the compiled OPA bridge and the default bundle.

pyproject.toml holds the metadata; this file only adds two steps to setuptools:
- build_py copies policy/bundle into policy_engine/_artifacts/bundle and builds the cgo bridge
  into policy_engine/_artifacts/libopabridge.so with `go build -buildmode=c-shared` (Go and a C
  compiler are needed to build, not to install). POLICY_ENGINE_BUILD_BRIDGE=<path to a built
  libopabridge.so> copies that one instead (the tests reuse `make setup`'s build/).
- bdist_wheel tags the wheel for the platform (py3-none-<platform>): the bridge is native code,
  but it does not use Python's C API, so one wheel serves every Python 3.11+ on that platform.
  The bridge is built stripped (-s -w: no symbol table or DWARF; Go's stack traces still work).
An editable install (`pip install -e`, `make setup`) does neither: locate.py finds the checkout's
build/ and policy/bundle.
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
ARTIFACTS = Path("policy_engine") / "_artifacts"
BRIDGE = "libopabridge.so"


class BuildWithArtifacts(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / ARTIFACTS
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(ROOT / "policy" / "bundle", target / "bundle")
        build_bridge(target / BRIDGE)


def build_bridge(out: Path) -> None:
    prebuilt = os.environ.get("POLICY_ENGINE_BUILD_BRIDGE")
    if prebuilt:
        shutil.copy2(prebuilt, out)
        return
    go = shutil.which("go")
    if go is None:
        raise SystemExit(
            "building policy-engine needs Go (1.26+) and a C compiler for the OPA bridge: https://go.dev/dl/"
        )
    command = [go, "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", str(out.resolve()), "."]
    subprocess.run(command, cwd=ROOT / "bridge", check=True, env={**os.environ, "CGO_ENABLED": "1"})
    out.with_suffix(".h").unlink(missing_ok=True)  # cgo's header for C callers; Python loads symbols by name


class NativeDistribution(Distribution):
    def has_ext_modules(self) -> bool:
        return True  # the bridge: installed to platlib, and the wheel is not "pure"


class PlatformWheel(bdist_wheel):
    def get_tag(self) -> tuple[str, str, str]:
        return "py3", "none", super().get_tag()[2]


setup(distclass=NativeDistribution, cmdclass={"build_py": BuildWithArtifacts, "bdist_wheel": PlatformWheel})
