#!/usr/bin/env bash
# Builds the image from Containerfile with buildah (chroot isolation: no daemon, no user
# namespaces), then smoke-tests it with `buildah run`: serve, /health, one decision.
#
#   scripts/build-image.sh                                  # local Debian bases (no registry)
#   scripts/build-image.sh GO_IMAGE PYTHON_IMAGE            # any bases, e.g. on a machine that can pull:
#   scripts/build-image.sh docker.io/library/golang:1.26-bookworm docker.io/library/python:3.11-slim-bookworm
#
# Without arguments the bases are made here, because base images cannot be pulled on these machines:
# - python base: `debootstrap --variant=minbase` of Debian bookworm with python3 (3.11) and python3-venv;
# - go base: that, plus gcc and libc6-dev from Debian, plus this machine's Go toolchain (/usr/local/go,
#   the one `make setup` uses; Debian's golang is too old for the bridge's go.mod).
# The build itself fetches Go modules (proxy.golang.org) and wheels (PyPI) over the network; chroot
# isolation shares the host's network. Behind a TLS-intercepting proxy (as on these machines),
# CA_BUNDLE (default: $SSL_CERT_FILE) is handed to those downloads as a build secret, in no layer. Needs root, buildah and debootstrap (apt-get install buildah debootstrap).
# IMAGE (default localhost/policy-engine:<version>) names the result; SUITE/MIRROR change the Debian source.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE=${IMAGE:-localhost/policy-engine:$VERSION}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
CA_BUNDLE=${CA_BUNDLE:-${SSL_CERT_FILE:-}}
GOROOT_HOST=${GOROOT_HOST:-$(go env GOROOT 2>/dev/null || echo /usr/local/go)}

local_bases() {
  local py=localhost/pe-base-python:$SUITE go=localhost/pe-base-go:$SUITE
  if ! buildah inspect --type image "$py" >/dev/null 2>&1; then
    local rootfs
    rootfs=$(mktemp -d)
    echo "== debootstrap $SUITE (minbase + python3) into $rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates "$SUITE" "$rootfs" "$MIRROR" >/dev/null
    if findmnt -rn -o TARGET | grep -q "^$rootfs/"; then echo "debootstrap left mounts under $rootfs" >&2; exit 1; fi
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    local ctr mnt
    ctr=$(buildah from scratch)
    mnt=$(buildah mount "$ctr")
    cp -a "$rootfs"/. "$mnt"/
    buildah umount "$ctr" >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/bash "$ctr"
    buildah commit --quiet --rm "$ctr" "$py" >/dev/null
    rm -rf --one-file-system "$rootfs"
  fi
  if ! buildah inspect --type image "$go" >/dev/null 2>&1; then
    echo "== go base: $py + gcc + $GOROOT_HOST ($("$GOROOT_HOST"/bin/go version))"
    local ctr
    ctr=$(buildah from "$py")
    buildah run --isolation chroot "$ctr" -- sh -c \
      'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null && rm -rf /var/lib/apt/lists/*'
    buildah copy --quiet "$ctr" "$GOROOT_HOST" /usr/local/go >/dev/null
    buildah config --env PATH=/usr/local/go/bin:/root/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
    buildah commit --quiet --rm "$ctr" "$go" >/dev/null
  fi
  GO_IMAGE=$go PYTHON_IMAGE=$py
}

if [ $# -ge 2 ]; then
  GO_IMAGE=$1 PYTHON_IMAGE=$2
else
  local_bases
fi

secrets=()
[ -n "$CA_BUNDLE" ] && [ -s "$CA_BUNDLE" ] && secrets=(--secret "id=ca-bundle,src=$CA_BUNDLE")
echo "== buildah bud $IMAGE (GO_IMAGE=$GO_IMAGE PYTHON_IMAGE=$PYTHON_IMAGE${CA_BUNDLE:+ CA_BUNDLE=$CA_BUNDLE})"
buildah bud --isolation chroot --format docker --layers -f Containerfile "${secrets[@]}" \
  --build-arg GO_IMAGE="$GO_IMAGE" --build-arg PYTHON_IMAGE="$PYTHON_IMAGE" -t "$IMAGE" .

echo "== image"
buildah images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$IMAGE"
buildah inspect --type image --format 'user={{.Docker.Config.User}} healthcheck={{.Docker.Config.Healthcheck.Test}}{{println}}' "$IMAGE"

echo "== smoke test: serve, /health, one decision (buildah run)"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ctr=$(buildah from "$IMAGE")
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah run --isolation chroot --env PE_PORT="$PORT" --env PE_HOST=127.0.0.1 "$ctr" -- sh -c '
  set -e
  id
  policy-engine serve & server=$!
  python3 - <<PY
import json, os, time, urllib.request
base = "http://127.0.0.1:%s" % os.environ["PE_PORT"]
for _ in range(300):
    try:
        health = urllib.request.urlopen(base + "/health", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
else:
    raise SystemExit("no /health in 30 s")
print("GET /health", health.status, health.read().decode())
body = {"action": "data.read", "agent_id": "smoke", "context": {"agent": {"id": "smoke", "trust_level": 0.9}}}
request = urllib.request.Request(base + "/v1/evaluate", json.dumps(body).encode(), {"Content-Type": "application/json"})
answer = urllib.request.urlopen(request, timeout=5)
decision = json.loads(answer.read())
print("POST /v1/evaluate", answer.status, json.dumps({k: decision[k] for k in ("allow", "violations", "reason", "rule")}))
assert decision["allow"] is True, decision
PY
  kill -TERM $server
  wait $server || true
  echo "opa CLI in the image: $(opa version | head -1)"
'
echo "== smoke test passed"
