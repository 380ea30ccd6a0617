#!/usr/bin/env bash
# Packs what scripts/bench-many-core.sh needs into .offline/, for an x86-64 machine with no
# network and a Python 3.12 of its own (the lent many-core machine): the built bridge, the
# opa and vegeta binaries (xz), wrk and redis-server with the libraries Ubuntu lacks, and
# wheels of the pinned dependencies. scripts/unpack-offline.sh installs it there.
# Usage: scripts/pack-offline.sh   (after `make setup` and scripts/install-system-deps.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
PY_VERSION="${PY_VERSION:-3.12}"
out=.offline
rm -rf "$out" && mkdir -p "$out/bin" "$out/lib" "$out/whl"
for f in build/libopabridge.so .tools/bin/opa .tools/bin/vegeta; do
  xz -T0 -6 -c "$f" > "$out/bin/$(basename "$f").xz"
done
cp "$(command -v wrk)" "$out/bin/wrk"
cp "$(readlink -f "$(command -v redis-server)")" "$out/bin/redis-server"
for lib in libluajit-5.1.so.2 liblzf.so.1 libjemalloc.so.2; do
  cp -L "/usr/lib/x86_64-linux-gnu/$lib" "$out/lib/"
done
# The runtime dependencies pinned in pyproject.toml, httpx (a dev dependency the benchmarks
# use) and what they need, as wheels for that Python.
deps=$(.venv/bin/python -c '
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
httpx = [d for d in project["optional-dependencies"]["dev"] if d.startswith("httpx==")]
print(" ".join(project["dependencies"] + httpx))')
platforms=()
for n in 17 27 28 34; do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
.venv/bin/pip download --quiet --only-binary=:all: --python-version "$PY_VERSION" \
  --implementation cp "${platforms[@]}" --platform manylinux2014_x86_64 -d "$out/whl" $deps
du -sh "$out"
