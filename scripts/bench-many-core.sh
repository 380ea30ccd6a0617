#!/usr/bin/env bash
# The HTTP measurement with 1, 2 and 4 service workers, for a machine with 8 or more cores
# (the 4-worker target is 40,000 req/s). Each worker count gets twice as many cores as
# workers (the Go engine runs beside each Python worker); wrk and vegeta get the rest.
# Usage: scripts/bench-many-core.sh [OUT_DIR]   (after `make setup`; prints one JSON per run)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench-results/many-core}"
mkdir -p "$out"
cores=$(nproc)
if [ "$cores" -lt 8 ]; then
  echo "bench-many-core: needs 8 or more cores, this machine has $cores" >&2
  exit 1
fi
scripts/install-system-deps.sh
for workers in 1 2 4; do
  last_server=$((2 * workers - 1))
  .venv/bin/policy-engine bench suite \
    --modes embedded,legacy,opa-server \
    --workers "$workers" \
    --server-cpus "0-$last_server" \
    --load-cpus "$((last_server + 1))-$((cores - 1))" \
    --rates 5000,10000,20000,40000 --seconds 10 --repeats 3 \
    --out "$out/workers-$workers.json" --json > /dev/null
  echo "workers=$workers: $out/workers-$workers.json"
done
