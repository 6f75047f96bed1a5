#!/usr/bin/env bash
# Run a command with the local stack up. Starts the stack when it is not running and, unless
# --keep is given, stops it again afterwards (also when the command fails). A stack that was
# already running is left as it was. Explicit KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL skip it.
set -uo pipefail
keep=0
if [[ "${1:-}" == "--keep" ]]; then keep=1; shift; fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stack="${PYTHON:-python3} $here/stack.py"

started=0
if [[ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" || -z "${MONGODB_URL:-}" ]]; then
  # the stack's own components (Keycloak is started apart, on demand) all run
  if $stack status | grep -E '^(kafka|ferretdb|postgres) ' | grep -q ' stopped '; then
    $stack up || exit 1
    started=1
  fi
fi
if [[ $started == 1 && $keep == 0 ]]; then
  trap '$stack down >/dev/null' EXIT
fi
"$@"
code=$?
if [[ $code == 5 ]]; then
  echo "pytest collected no tests: that is a failure, not a pass" >&2
fi
exit $code
