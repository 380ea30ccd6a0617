#!/usr/bin/env bash
# The HTTP measurement with 1, 2 and 4 service workers, for a machine with 8 or more cores
# (the 4-worker target is 40,000 req/s). Each worker count gets twice as many cores as
# workers (the Go engine runs beside each Python worker); wrk and vegeta get the rest.
# Usage: scripts/bench-many-core.sh [OUT_DIR]   (after `make setup`; prints each run's tables and
# writes its JSON into OUT_DIR)
# Shorter runs for a lent machine's few minutes: WORKERS, MODES, RATES, SECONDS_PER_RUN, REPEATS.
# On a machine with no network, scripts/pack-offline.sh and scripts/unpack-offline.sh bring
# everything it needs.
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
for workers in ${WORKERS:-1 2 4}; do
  last_server=$((2 * workers - 1))
  .venv/bin/policy-engine bench suite \
    --modes "${MODES:-embedded,legacy,opa-server}" \
    --workers "$workers" \
    --server-cpus "0-$last_server" \
    --load-cpus "$((last_server + 1))-$((cores - 1))" \
    --rates "${RATES:-5000,10000,20000,40000}" --seconds "${SECONDS_PER_RUN:-10}" --repeats "${REPEATS:-3}" \
    --out "$out/workers-$workers.json"
  echo "workers=$workers: $out/workers-$workers.json"
done
