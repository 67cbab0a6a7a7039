#!/usr/bin/env bash
# Install everything archport's test suite needs on a Debian bookworm machine.
# Idempotent and quiet: installs only what is missing, refreshes apt lists only
# when they are missing or older than a day.  Prints the Python it set up last.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(docker-registry skopeo containerd runc qemu-user-static binfmt-support
              openssh-server apache2-utils git ca-certificates
              gcc libc6-dev gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
              gpgv gnupg debian-archive-keyring xz-utils mmdebstrap
              containernetworking-plugins iptables iproute2 util-linux
              zstd lz4 bzip2 qemu-system-misc opensbi openssl curl)

SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "test-deps: run as root (containerd and binfmt_misc need it)" >&2; exit 1; }
  SUDO="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's python3 refuses system-wide pip installs (PEP 668): use a venv then.
PY="${PYTHON:-$(command -v python3 || command -v python || true)}"
needs_venv() {
  [ -z "${VIRTUAL_ENV:-}" ] && "$1" - <<'PYEOF'
import sys, sysconfig, os
sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["stdlib"], "EXTERNALLY-MANAGED")) else 1)
PYEOF
}
if [ -z "$PY" ]; then
  missing+=(python3 python3-venv python3-pip)
elif needs_venv "$PY" && [ ! -x .venv/bin/python ]; then
  "$PY" -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
fi

if [ ${#missing[@]} -gt 0 ]; then
  lists=/var/lib/apt/lists
  if [ -z "$(find "$lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
    echo "test-deps: apt-get update" >&2
    $SUDO apt-get update -qq >/dev/null
  fi
  echo "test-deps: apt-get install ${missing[*]}" >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go builds the test binaries; Debian bookworm's golang-go (1.19) is too old
# for them, so install-go.sh installs the Go the suite is run with into
# /usr/local/go when no new enough Go is found (see its GO_MIN).
if [ -z "${GOPROXY:-}" ] && ! command -v go >/dev/null && [ ! -x /usr/local/go/bin/go ]; then
  # No Go at all: Debian's, whose `go env GOPROXY` names the default module
  # proxy install-go.sh fetches the newer Go from.
  echo "test-deps: apt-get install golang-go (for its module proxy default)" >&2
  $SUDO apt-get install -y -qq --no-install-recommends golang-go >/dev/null
fi
go_bin="$($SUDO env PYTHON="$(command -v python3 || command -v python)" GOPROXY="${GOPROXY:-}" \
  "$(pwd)/scripts/install-go.sh" --if-needed /usr/local/go)"
echo "test-deps: Go: $go_bin ($(GOTOOLCHAIN=local "$go_bin" env GOVERSION)); put $(dirname "$go_bin") first on PATH" >&2

PY="${PYTHON:-$(command -v python3 || command -v python)}"
if needs_venv "$PY"; then
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  PY=.venv/bin/python
fi
"$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore -e '.[test,build]'
echo "$PY"
