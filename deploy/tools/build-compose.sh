#!/usr/bin/env bash
# Build the pinned Docker Compose v2 CLI (standalone docker-compose) from the Go module proxy and cache it.
# Prints the path of the binary on stdout. Safe to call repeatedly: it only
# builds when the cached binary is missing.
set -euo pipefail

COMPOSE_VERSION="${COMPOSE_VERSION:-v2.40.3}"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/vrac"
binary="$cache_dir/docker-compose-$COMPOSE_VERSION"

if [[ -x "$binary" ]]; then
    echo "$binary"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "build-compose: the go command is needed to build docker compose $COMPOSE_VERSION" >&2
    exit 1
fi

mkdir -p "$cache_dir"
workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

# compose's go.mod carries exclude directives, which `go install pkg@version`
# refuses; so build it as the main module from its own downloaded source.
src_dir="$(cd "$workdir" && go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
cp -r "$src_dir" "$workdir/src"
chmod -R u+w "$workdir/src"
(cd "$workdir/src" && GOFLAGS="-trimpath -buildvcs=false" go build -o "$workdir/bin/docker-compose" ./cmd) >&2
mv "$workdir/bin/docker-compose" "$binary.tmp.$$"
mv "$binary.tmp.$$" "$binary"
echo "$binary"
