#!/usr/bin/env bash
# Install the Go toolchain archport's tests are run with into DEST (default
# /usr/local/go), from the Go module proxy: the official release packaged as
# the module golang.org/toolchain, the same files `go` fetches itself when
# GOTOOLCHAIN asks for another version.  The zip is checked against the hash
# pinned below (from the Go checksum database), so a proxy cannot change it.
#
#   scripts/install-go.sh [--if-needed] [DEST]
#
# --if-needed installs nothing when DEST/bin/go, or the go on PATH, is at
# least GO_MIN, and prints that one instead.  archport's port needs Go >= 1.20
# (older runtimes crash on Sv57 kernels); the test suite needs >= 1.25: it
# builds with GORISCV64=rva23u64 (new in Go 1.25) and builds metrics-server
# v0.8.0, whose go.mod says go 1.24.4, with GOTOOLCHAIN=local.  Debian
# bookworm's golang-go is 1.19.
#
# GOPROXY (its first http(s) entry) names the proxy, else the default of a Go
# found here (DEST or PATH); ARCHPORT_GO_CACHE, a
# directory, keeps the checked zip for the next install; PYTHON, the Python 3
# that checks and unpacks it (default python3).  DEST is replaced
# whole, and only once the new tree is complete.  Prints DEST/bin/go.
set -euo pipefail

GO_VERSION=1.26.8
GO_MIN=1.25
# golang.org/toolchain v0.0.1-go$GO_VERSION.linux-$ARCH h1: hashes, read from
# the checksum database through the proxy (/sumdb/sum.golang.org/lookup/...).
declare -A H1=(
  [amd64]="h1:ZOmGe1OnfREDMIdb1Qi4G9JSuDPBLGExZMQ4nis1RXM="
  [arm64]="h1:sYL/O6MqS68ML0kjsQ36WoYIpJqkw60TxizWUYUKQMc="
)

if_needed=""
if [ "${1:-}" = "--if-needed" ]; then if_needed=1; shift; fi
dest="${1:-/usr/local/go}"

go_version() {   # "1.26.8" for a go binary, "" when it does not run
  GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null | sed -n 's/^go\([0-9][0-9.]*\).*/\1/p'
}
new_enough() {
  local v; v="$(go_version "$1")"
  [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$GO_MIN" "$v" | sort -V | head -1)" = "$GO_MIN" ]
}
if [ -n "$if_needed" ]; then
  for g in "$dest/bin/go" "$(command -v go || true)"; do
    if [ -n "$g" ] && [ -x "$g" ] && new_enough "$g"; then
      echo "install-go: $g is go$(go_version "$g") (>= $GO_MIN): nothing to install" >&2
      echo "$g"
      exit 0
    fi
  done
fi
case "$(uname -m)" in
  x86_64|amd64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "install-go: no pinned Go for $(uname -m); install Go $GO_VERSION from https://go.dev/dl/ into $dest" >&2
     exit 1 ;;
esac
version="v0.0.1-go$GO_VERSION.linux-$arch"
# The proxy: GOPROXY, else the default of a Go already here (even Debian's
# 1.19 reports the one it was built with), so this script names none itself.
default_proxy() {
  local g
  for g in "$dest/bin/go" "$(command -v go || true)"; do
    if [ -n "$g" ] && [ -x "$g" ]; then GOTOOLCHAIN=local GOFLAGS= "$g" env GOPROXY 2>/dev/null && return; fi
  done
}
proxy=""
IFS=',|' read -r -a entries <<< "${GOPROXY:-$(default_proxy)}"
for e in "${entries[@]}"; do
  case "$e" in http://*|https://*) proxy="${e%/}"; break ;; esac
done
if [ -z "$proxy" ]; then
  echo "install-go: no Go module proxy known: set GOPROXY to one, or install any Go (Debian's golang-go)" \
       "for its default" >&2
  exit 1
fi
url="$proxy/golang.org/toolchain/@v/$version.zip"

mkdir -p "$(dirname "$dest")"
tmp="$(mktemp -d "$(dirname "$dest")/.install-go.XXXXXX")"     # beside DEST: the last mv is a rename
trap 'rm -rf "$tmp"' EXIT
zip="$tmp/go.zip"
cached="${ARCHPORT_GO_CACHE:+$ARCHPORT_GO_CACHE/$version.zip}"
if [ -n "$cached" ] && [ -f "$cached" ]; then
  cp "$cached" "$zip"
else
  echo "install-go: Go $GO_VERSION from the Go module proxy ($url)" >&2
  curl -fsSL --retry 3 -o "$zip" "$url" || {
    echo "install-go: cannot download $url; reach the Go module proxy (or set GOPROXY to one), or install" \
         "Go >= 1.25 from https://go.dev/dl/ into $dest" >&2
    exit 1
  }
fi

# Check the zip (Go's dirhash "h1": SHA-256 over the sorted "sha256  name"
# lines of its files), then unpack it without the module path prefix.  The
# module zip records no modes: bin/ and pkg/tool/ are made executable, as
# cmd/go does for a toolchain it fetched.
"${PYTHON:-python3}" - "$zip" "${H1[$arch]}" "$tmp/go" "golang.org/toolchain@$version/" <<'PYEOF'
import base64, hashlib, os, sys, zipfile
path, want, out, prefix = sys.argv[1:]
with zipfile.ZipFile(path) as z:
    files = sorted(i.filename for i in z.infolist() if not i.is_dir())
    lines = "".join(f"{hashlib.sha256(z.read(n)).hexdigest()}  {n}\n" for n in files)
    got = "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()
    if got != want:
        sys.exit(f"install-go: {path}: hash {got}, expected {want}: not installed")
    for n in files:
        if not n.startswith(prefix) or ".." in n.split("/"):
            sys.exit(f"install-go: unexpected file {n!r} in the toolchain zip")
        rel = n[len(prefix):]
        target = os.path.join(out, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(z.read(n))
        os.chmod(target, 0o755 if rel.startswith(("bin/", "pkg/tool/")) else 0o644)
PYEOF
if [ -n "$cached" ] && [ ! -f "$cached" ]; then
  mkdir -p "$ARCHPORT_GO_CACHE" && cp "$zip" "$cached.tmp" && mv "$cached.tmp" "$cached"
fi
"$tmp/go/bin/go" version >/dev/null

if [ -e "$dest" ]; then
  mv "$dest" "$tmp/old"
fi
mv "$tmp/go" "$dest"
echo "install-go: installed go$GO_VERSION from the Go module proxy into $dest" >&2
echo "$dest/bin/go"
