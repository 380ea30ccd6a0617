#!/usr/bin/env bash
# Debian packages the tests and benchmarks need: Redis (the L2 cache), wrk (closed-loop load),
# openssl (keys for the signed-bundle tests, certificates for the TLS tests).
# Installs only what is missing; needs root (or sudo) when something is.
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v wrk >/dev/null || missing+=(wrk)
command -v taskset >/dev/null || missing+=(util-linux)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
