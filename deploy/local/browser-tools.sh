#!/usr/bin/env bash
# What the browser tests need beside the Python packages, set up by `make install`:
# Debian's chromium and chromium-driver (with npm, to install axe-core) from apt when they are
# missing, and axe-core from tests/browser/package-lock.json into tests/browser/node_modules.
# Run again, it does nothing when everything is in place.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
browser_dir="$here/../../tests/browser"

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]]; then
    echo "The browser tests need Debian's packages: ${missing[*]}." >&2
    echo "Install them as root (apt-get update && apt-get install ${missing[*]}), then run this again." >&2
    exit 1
  fi
  echo "Installing ${missing[*]} (Debian packages) for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci leaves node_modules/.package-lock.json; newer than the lock means it is installed.
installed="$browser_dir/node_modules/.package-lock.json"
if [[ ! -f "$installed" || "$browser_dir/package-lock.json" -nt "$installed" ]]; then
  (cd "$browser_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
