"""klipper-lb v0.4.x (v0.4.17 in k3s's current lines): its entry script picks
the iptables backend at each start (``lsmod | grep nf_tables``, then links
``iptables`` to ``xtables-nft-multi`` or ``xtables-legacy-multi``), so the
transplanted image must carry both, and the commands the script runs.  The
stand-in is Debian-based like the v0.3.5 one (Alpine's repositories are
unreachable here), with the applets the v0.4 entry uses; port transplants it
onto Debian for riscv64 and says who chooses the backend.  A stand-in
without ``lsmod`` is refused, naming it.  No smoke: the kernel run of the
rules is tests/transplant/test_klipper_lb.py's."""

from __future__ import annotations

import json
import os

from standins.debian import CACHE, CONFIG, push, root_files, suite
from tests.support.cli import archport

REF = "rancher/klipper-lb:v0.4.17"

# The v0.4 entry's shape, written for this stand-in: the backend check, then
# the rules and the fifo of the v0.3.5 stand-in's entry.
ENTRY = b"""#!/bin/sh
set -e
if lsmod | grep -qF nf_tables; then mode=nft; else mode=legacy; fi
for i in iptables iptables-save iptables-restore ip6tables; do ln -sf "xtables-$mode-multi" "/usr/sbin/$i"; done
cat /proc/sys/net/ipv4/ip_forward
mkfifo /pause 2>/dev/null || true
</pause
"""


def _files(arch: str, lsmod: bool = True) -> dict:
    files = root_files(arch)
    files["usr/bin/entry"] = (ENTRY, 0o755)
    files["bin/ln"] = "->/usr/bin/busybox"
    if lsmod:
        files["sbin/lsmod"] = "->/usr/bin/busybox"
    return files


def _port(reg, tmp_path, dest: str, expect: int) -> dict:
    cp = archport("port", REF, "--arch", "riscv64", "--strategy", "transplant", "--to", f"{reg.host}/{dest}",
                  "--mirror", f"docker.io={reg.host}", "--mirror-only", "--cache-dir", str(CACHE / "port"),
                  "--debian-suite", suite(), "--no-smoke", "--json", env=dict(os.environ), expect=expect,
                  timeout=1800)
    (r,) = json.loads(cp.stdout)["images"]
    return r


def test_v0_4_keeps_both_backends_for_its_entry_to_choose(registry_plain, tmp_path):
    push(tmp_path, registry_plain, REF, {a: _files(a) for a in ("amd64", "arm64")}, CONFIG)
    r = _port(registry_plain, tmp_path, "v04", 0)
    assert r["status"] == "ported" and r["strategy"] == "transplant", r
    notes = " ".join(r["notes"])
    assert "iptables backend: chosen by the entry script at each start" in notes, r["notes"]
    assert "both xtables-legacy-multi and xtables-nft-multi are in the image" in notes
    assert "entry script's commands present: sh, lsmod, grep, ln, cat, mkfifo, iptables, ip6tables" in notes


def test_v0_4_without_lsmod_is_refused_naming_it(registry_plain, tmp_path):
    repo_tag = "rancher/klipper-lb:v0.4.16"
    push(tmp_path, registry_plain, repo_tag, {a: _files(a, lsmod=False) for a in ("amd64", "arm64")}, CONFIG)
    cp = archport("port", repo_tag, "--arch", "riscv64", "--strategy", "transplant", "--to",
                  f"{registry_plain.host}/v04-refused", "--mirror", f"docker.io={registry_plain.host}",
                  "--mirror-only", "--cache-dir", str(CACHE / "port"), "--debian-suite", suite(), "--no-smoke",
                  "--json", env=dict(os.environ), expect=1, timeout=1800)
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "failed", r
    assert "entry script needs: lsmod (run by the entry script)" in r["reason"], r["reason"]
