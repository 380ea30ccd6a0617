#!/usr/bin/env bash
# Installs .offline/ (from scripts/pack-offline.sh) on a machine with no network: the
# binaries where `make setup` puts them, the wheels in .offline/site, and a .venv/bin
# that runs the machine's own python3 with them. Prints the exports the benchmark needs.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build .tools/bin .venv/bin .offline/site
for f in .offline/bin/*.xz; do
  name=$(basename "$f" .xz)
  dest=.tools/bin/$name
  [ "$name" = libopabridge.so ] && dest=build/$name
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$f" "$dest"
  chmod +x "$dest"
done
python3 -m pip install --quiet --no-index --no-deps --no-compile --upgrade --target .offline/site .offline/whl/*.whl
ln -sf "$(command -v python3)" .venv/bin/python
printf '#!/bin/sh\nexec "%s/.venv/bin/python" -m policy_engine.cli "$@"\n' "$PWD" > .venv/bin/policy-engine
chmod +x .venv/bin/policy-engine .offline/bin/wrk .offline/bin/redis-server
echo "export PATH=$PWD/.offline/bin:\$PATH LD_LIBRARY_PATH=$PWD/.offline/lib PYTHONPATH=$PWD/src:$PWD/.offline/site"
