"""The Alpine code path end to end, from the committed apk database.

Alpine's repository is not reachable here, so this is untested against a
live Alpine image or repository: the upstream stand-in is an Alpine-shaped
amd64 root written from tests/fixtures/transplant/apk-installed (the
klipper-helm v0.7.3 package set: musl, busybox, alpine-baselayout, jq,
bash, ca-certificates), with placeholder bytes for the package-owned files
(they are replaced, never carried), busybox's applet links as Alpine's
trigger makes them (``/bin/sh -> /bin/busybox``), and a bash entry script.
The port maps the Alpine names to Debian's (catalog packages.toml), takes
them from the machine's Debian archive for riscv64, and the entry script
then runs under containerd + qemu.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archport.transplant import parse_apk
from tests.support.cli import archport

from standins.debian import CACHE, PATH_ENV, push, suite

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "transplant"
REF = "rancher/klipper-helm:v0.7.3-build20220613"
CONFIG = {"Entrypoint": ["entry"], "Env": [PATH_ENV]}
ENTRY = b"""#!/bin/bash
set -e -o pipefail
printf '{"shell":"%s"}' "$BASH_VERSION" | jq -r 'has("shell")'
echo ok | base64
timeout 5 true && echo "timeout ran"
"""
ELF_PLACEHOLDER = b"\x7fELF\x02\x01\x01" + b"\0" * 57       # an x86_64-looking header; replaced by the port


def alpine_root() -> dict:
    text = (FIX / "apk-installed").read_text()
    db = parse_apk(text)
    files: dict = {"lib/apk/db/installed": text.encode()}
    for p in db.packages:
        for f in p.files:
            elf = f.startswith(("bin/", "usr/bin/", "lib/ld-", "lib/libc")) or f.endswith(".so.1")
            files[f] = (ELF_PLACEHOLDER, 0o755) if elf else (f"{p.name} {f}\n".encode(), 0o644)
    files["etc/passwd"] = b"root:x:0:0:root:/root:/bin/ash\n"
    files["etc/group"] = b"root:x:0:root\n"
    for applet in ("bin/sh", "bin/base64", "usr/bin/timeout"):
        files[applet] = "->/bin/busybox"
    files["usr/bin/entry"] = (ENTRY, 0o755)
    return files


@pytest.fixture(scope="module")
def alpine_standin(registry_plain, tmp_path_factory):
    push(tmp_path_factory.mktemp("alpine"), registry_plain, "example/alpine-shaped:v1", {"amd64": alpine_root()},
         CONFIG)
    return registry_plain


def test_alpine_packages_are_transplanted_onto_debian(alpine_standin, tmp_path):
    reg = alpine_standin
    cp = archport("port", "example/alpine-shaped:v1", "--arch", "riscv64", "--strategy", "transplant",
                  "--to", f"{reg.host}/ported", "--mirror", f"docker.io={reg.host}", "--mirror-only",
                  "--cache-dir", str(CACHE / "port"), "--debian-suite", suite(), "--json", expect=None, timeout=1800)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported" and r["strategy"] == "transplant", r
    notes = " ".join(r["notes"])
    assert ("Alpine packages musl, busybox, alpine-baselayout, jq, bash, ca-certificates -> Debian "
            "busybox-static, jq, bash, ca-certificates (catalog packages.toml)") in notes, notes
    assert r["check"].startswith("ok"), r
    assert r["smoke"].startswith("ok (exit 0"), r
    out = r["smokeOutput"]
    assert "true" in out and "b2sK" in out and "timeout ran" in out, out
