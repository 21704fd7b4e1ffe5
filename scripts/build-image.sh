#!/usr/bin/env bash
# `make image`: build the bgpctl container image without any image registry.
#
# 1. Base: a Debian bookworm root filesystem from Debian's packages (mmdebstrap, apt
#    mirror only), imported as localhost/bgpctl-base:bookworm. Cached as a tarball in
#    <cache>/image/ and rebuilt only when this script's package list changes.
# 2. A build context with the project wheel and every dependency (`pip wheel` on the
#    host) plus GoBGP v3.37's gobgpd from the envtest cache, so nothing in the
#    Dockerfile touches the network.
# 3. `buildah bud` of the multi-stage Dockerfile -> localhost/bgpctl:<version>, and an
#    OCI archive <cache>/image/bgpctl.tar that `ctr images import` reads.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${BGPCTL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bgpctl}"
IMAGE="${IMAGE:-localhost/bgpctl:dev}"
BASE_IMAGE="localhost/bgpctl-base:bookworm"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# python3 (+ libstdc++ for grpcio): the agent. gobgpd is a static binary, netlink is pure Python.
PACKAGES="python3-minimal,libpython3.11-stdlib,libstdc++6"
GOBGPD="$CACHE/gobgp/v3.37.0/gobgpd"
PY="${PY:-.venv/bin/python}"

mkdir -p "$CACHE/image"
start=$(date +%s)

key=$(printf "%s %s" "$SUITE" "$PACKAGES" | sha256sum | cut -c1-16)
base_tar="$CACHE/image/base-$SUITE-$key.tar"
if [ ! -f "$base_tar" ]; then
  echo "== base root filesystem ($SUITE: $PACKAGES)"
  mmdebstrap --variant=essential --include="$PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
    "$SUITE" "${base_tar%.tar}.tmp.tar" "$MIRROR"
  mv "${base_tar%.tar}.tmp.tar" "$base_tar"
  find "$CACHE/image" -maxdepth 1 -name "base-$SUITE-*.tar" ! -path "$base_tar" -delete
fi
if ! buildah inspect --type image "$BASE_IMAGE" 2>/dev/null | grep -q "$key"; then
  echo "== importing $BASE_IMAGE"
  buildah rmi -f "$BASE_IMAGE" >/dev/null 2>&1 || true
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  tar -C "$mnt" -xf "$base_tar"
  buildah umount "$ctr" >/dev/null
  buildah config --label "bgpctl.base=$key" --env LANG=C.UTF-8 "$ctr"
  buildah commit -q --rm "$ctr" "$BASE_IMAGE" >/dev/null
fi

# The pod sandbox ("pause") image the one-node cluster's containerd needs, built from
# Kubernetes' own pause.c (in the k8s.io/kubernetes module the envtest build fetched),
# tagged as containerd's default sandbox image.
pause_tar="$CACHE/image/pause.tar"
if [ ! -f "$pause_tar" ]; then
  echo "== pause image"
  pause_c="$(go env GOMODCACHE)/k8s.io/kubernetes@${KUBERNETES_VERSION:-v1.36.3}/build/pause/linux/pause.c"
  tmp=$(mktemp -d)
  gcc -Os -static -DVERSION=3.10.1 -o "$tmp/pause" "$pause_c"
  strip "$tmp/pause"
  ctr=$(buildah from scratch)
  buildah copy -q "$ctr" "$tmp/pause" /pause >/dev/null
  buildah config --entrypoint '["/pause"]' --user 65535:65535 "$ctr"
  buildah commit -q --rm "$ctr" registry.k8s.io/pause:3.10.1 >/dev/null
  podman save -q --format oci-archive -o "$pause_tar.tmp" registry.k8s.io/pause:3.10.1
  mv "$pause_tar.tmp" "$pause_tar"
  rm -rf "$tmp"
fi

echo "== build context (wheelhouse, gobgpd)"
[ -x "$GOBGPD" ] || { echo "missing $GOBGPD: run 'make envtest' first" >&2; exit 1; }
ctx="$CACHE/image/context"
rm -rf "$ctx"
mkdir -p "$ctx/wheels"
"$PY" -m pip wheel -q --wheel-dir "$ctx/wheels" pip
"$PY" -m pip wheel -q --wheel-dir "$ctx/wheels" .
strip -o "$ctx/gobgpd" "$GOBGPD"  # debug info is 1/3 of it
cp Dockerfile "$ctx/Dockerfile"

echo "== image $IMAGE"
buildah bud -q --runtime runc --layers=false --pull=never -t "$IMAGE" -f "$ctx/Dockerfile" "$ctx" >/dev/null
rm -f "$CACHE/image/bgpctl.tar"
podman save -q --format oci-archive -o "$CACHE/image/bgpctl.tar" "$IMAGE"
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
echo "image $IMAGE: $((size / 1000000)) MB uncompressed; $(du -m "$CACHE/image/bgpctl.tar" | cut -f1) MB archive $CACHE/image/bgpctl.tar; built in $(( $(date +%s) - start ))s"
