# Sourced by the build-*.sh scripts: build a pinned Go tool once and cache it.
#
#   cached_go_tool <name> <version> <what> <build-function>
#
# prints the path of "$XDG_CACHE_HOME/vrac/<name>-<version>" (default cache: ~/.cache/vrac)
# on stdout. Only when that binary is missing does it call
# "<build-function> <workdir> <version>", which must leave the binary at
# <workdir>/bin/<name>; its output goes to stderr. <what> names the tool in messages.

cached_go_tool() {
    local name="$1" version="$2" what="$3" build="$4"
    local cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/vrac"
    local binary="$cache_dir/$name-$version"

    if [[ -x "$binary" ]]; then
        echo "$binary"
        return 0
    fi

    if ! command -v go >/dev/null 2>&1; then
        echo "$(basename "$0" .sh): the go command is needed to build $what $version" >&2
        exit 1
    fi

    mkdir -p "$cache_dir"
    _go_tool_workdir="$(mktemp -d)"
    trap 'rm -rf "$_go_tool_workdir"' EXIT
    "$build" "$_go_tool_workdir" "$version" >&2
    # under a versioned name, through a temporary one, so a bump never reuses a stale
    # build and a concurrent caller never sees half a binary
    mv "$_go_tool_workdir/bin/$name" "$binary.tmp.$$"
    mv "$binary.tmp.$$" "$binary"
    echo "$binary"
}
