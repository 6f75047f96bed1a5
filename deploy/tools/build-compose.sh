#!/usr/bin/env bash
# Build the pinned Docker Compose v2 CLI (standalone docker-compose) from the Go module proxy and cache it.
# Prints the path of the binary on stdout. Safe to call repeatedly: it only
# builds when the cached binary is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/go-tool.sh"

# compose's go.mod carries exclude directives, which `go install pkg@version`
# refuses; so build it as the main module from its own downloaded source.
build_compose() {
    local workdir="$1" version="$2" src_dir
    src_dir="$(cd "$workdir" && go mod download -json "github.com/docker/compose/v2@$version" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    cp -r "$src_dir" "$workdir/src"
    chmod -R u+w "$workdir/src"
    (cd "$workdir/src" && GOFLAGS="-trimpath -buildvcs=false" go build -o "$workdir/bin/docker-compose" ./cmd)
}

cached_go_tool docker-compose "${COMPOSE_VERSION:-v2.40.3}" "docker compose" build_compose
