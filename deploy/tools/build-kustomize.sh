#!/usr/bin/env bash
# Build the pinned kustomize CLI from the Go module proxy and cache it.
# Prints the path of the binary on stdout. Safe to call repeatedly: it only
# builds when the cached binary is missing.
set -euo pipefail

KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.7.1}"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/vrac"
binary="$cache_dir/kustomize-$KUSTOMIZE_VERSION"

if [[ -x "$binary" ]]; then
    echo "$binary"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "build-kustomize: the go command is needed to build kustomize $KUSTOMIZE_VERSION" >&2
    exit 1
fi

mkdir -p "$cache_dir"
workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

# go install into a private GOBIN, then move the binary under a versioned name
# so that bumping KUSTOMIZE_VERSION never reuses a stale build.
GOBIN="$workdir/bin" GOFLAGS="${GOFLAGS:-} -trimpath" \
    go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
mv "$workdir/bin/kustomize" "$binary.tmp.$$"
mv "$binary.tmp.$$" "$binary"
echo "$binary"
