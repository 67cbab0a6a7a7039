#!/usr/bin/env bash
# The riscv64 test bed: scripts/testbed.sh up|down|purge|status|env|build [--dir DIR]
# up is idempotent (a running bed is left alone); down leaves nothing running.
# `eval "$(scripts/testbed.sh env)"` sets KUBECONFIG, BOARD_SSH, UPSTREAM, REGISTRY.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="/usr/local/go/bin:$PATH"
py="${PYTHON:-python3}"
cd "$here"
exec "$py" -m testbed "$@"
