#!/usr/bin/env bash
# Install what the tests need (scripts/test-deps.sh), then run the suite.
# Arguments go to pytest:  bash scripts/test.sh tests/smoke -x
set -euo pipefail
cd "$(dirname "$0")/.."
PY="$(bash scripts/test-deps.sh | tail -1)"
[ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH"
# The whole suite: download, then build (at nice 19), the one-time builds in
# the background while the first tests run; the tests that need the bed run
# last (tests/conftest.py).  About a second once everything is cached.  In a
# session of its own, so that it is stopped, builds and all, when pytest ends.
if [ $# -eq 0 ]; then
  setsid nice -n 10 "$PY" scripts/prefetch.py > "${TMPDIR:-/tmp}/archport-prefetch.log" 2>&1 &
  PREFETCH=$!
  trap 'kill -TERM -- "-$PREFETCH" 2>/dev/null || true' EXIT
fi
"$PY" -m pytest -q "$@"
