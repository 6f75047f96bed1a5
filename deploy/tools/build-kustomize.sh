#!/usr/bin/env bash
# Build the pinned kustomize CLI from the Go module proxy and cache it.
# Prints the path of the binary on stdout. Safe to call repeatedly: it only
# builds when the cached binary is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/go-tool.sh"

# go install into a private GOBIN; cached_go_tool moves it under a versioned name.
build_kustomize() {
    local workdir="$1" version="$2"
    GOBIN="$workdir/bin" GOFLAGS="${GOFLAGS:-} -trimpath" \
        go install "sigs.k8s.io/kustomize/kustomize/v5@$version"
}

cached_go_tool kustomize "${KUSTOMIZE_VERSION:-v5.7.1}" kustomize build_kustomize
