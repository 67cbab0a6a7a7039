#!/usr/bin/env bash
# Install what the tests need (scripts/test-deps.sh), then run the suite.
# Arguments go to pytest:  bash scripts/test.sh tests/smoke -x
set -euo pipefail
cd "$(dirname "$0")/.."
PY="$(bash scripts/test-deps.sh | tail -1)"
[ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH"
exec "$PY" -m pytest -q "$@"
