"""klipper-lb, end to end: a Debian-based stand-in upstream (amd64 + arm64,
real dpkg database: standins/debian.py) ported to riscv64 with the
transplant strategy through the CLI, from the machine's Debian archive.

What is proven: ``port`` builds, checks (the ``entry`` script's ``/bin/sh``,
and ``iptables`` as a svclb-style container would call it, resolve to
riscv64 ELFs with their libraries) and smokes the image: the catalog's
recipe boots Debian's riscv64 kernel under qemu-system-riscv64 with the
image as its root, runs ``entry`` with the env ServiceLB gives it, and
``iptables -t nat -S`` then shows its DNAT and MASQUERADE rules, written by
the riscv64 iptables into a riscv64 kernel's netfilter; with both the
upstream image's legacy backend and ``--iptables-backend nft``.  Under
containerd + qemu-user, ``iptables -V`` runs and reports the legacy backend.

Why a kernel: under qemu-user the riscv64 iptables cannot reach netfilter
(tried by hand with ``unshare -n`` + chroot: the legacy backend's
IPT_SO_GET_INFO answers "iptables who?", the nft backend's netfilter
netlink "Protocol not supported"), while the host's own iptables-legacy
works in the same kind of namespace.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.support.cli import archport
from tests.support.port import skopeo_raw, upstream_digests
from standins import skopeo

from standins.debian import CACHE, SVCLB, push_standin, suite

REF = "rancher/klipper-lb:v0.3.5"



@pytest.fixture(scope="module")
def standin(registry_plain, tmp_path_factory):
    push_standin(tmp_path_factory.mktemp("klipper-lb"), registry_plain, REF)
    return registry_plain


def _port(reg, dest: str, *extra: str) -> dict:
    cp = archport("port", REF, "--arch", "riscv64", "--strategy", "transplant", "--to", f"{reg.host}/{dest}",
                  "--mirror", f"docker.io={reg.host}", "--mirror-only", "--cache-dir", str(CACHE / "port"),
                  "--debian-suite", suite(),
                  "--smoke-timeout", "20", "--json", *extra, env=dict(os.environ), expect=None, timeout=1800)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    return r


def test_klipper_lb_ported_checked_and_smoked(standin, tmp_path, containerd, binfmt_riscv64):
    reg = standin
    r = _port(reg, "ported")
    assert r["status"] == "ported" and r["strategy"] == "transplant", r
    assert "iptables legacy" in r["reason"], r
    assert r["check"].startswith("ok"), r
    assert r["smoke"].startswith("ok (still running"), r            # entry blocks on /pause
    assert "iptables -t nat -S: 2 of 2 expected lines" in r["smoke"], r
    out = r["smokeOutput"]
    assert "-A PREROUTING ! -s 10.43.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.43.0.10:80" in out
    assert "-A POSTROUTING -d 10.43.0.10/32 -p tcp -j MASQUERADE" in out
    notes = " ".join(r["notes"])
    assert "iptables family → legacy (6 commands), the upstream image's" in notes, notes
    assert "busybox-static=" in notes and "iptables=" in notes and "libc6=" in notes, notes

    dest = f"{reg.host}/ported/{REF}"
    index = skopeo_raw(dest)
    got = {m["platform"]["architecture"]: m["digest"] for m in index["manifests"]}
    up = upstream_digests(reg, REF)
    assert got == {"amd64": up["linux/amd64"], "arm64": up["linux/arm64"], "riscv64": r["platformDigest"]}

    man = skopeo_raw(f"{reg.host}/ported/rancher/klipper-lb@{r['platformDigest']}")
    ann = man["annotations"]
    assert ann["io.archport.strategy"] == "transplant"
    assert ann["io.archport.transplant.iptables"].startswith("legacy (the upstream image's")
    assert "iptables=" in ann["io.archport.transplant.packages"]

    # The config is upstream's with only the platform changed.
    cfg = skopeo.config(f"docker://{dest}", "--tls-verify=false", arch="riscv64")
    assert cfg["config"]["Cmd"] == ["entry"] and cfg["architecture"] == "riscv64" and cfg["os"] == "linux"
    assert "Entrypoint" not in cfg["config"]

    # check: the entry script's interpreter, and iptables as a container calls it.
    manifests = tmp_path / "svclb.yaml"
    manifests.write_text(SVCLB)
    c = json.loads(archport("check", dest, "--manifests", str(manifests), "--image-name", REF, "--json").stdout)
    assert c["ok"], json.dumps(c, indent=1)[:3000]
    by_argv = {tuple(o["argv"]): o for o in c["contracts"]}
    assert set(by_argv) == {("entry",), ("iptables", "-t", "nat", "-S"), ("ip6tables-save",)}, list(by_argv)
    entry = " ".join(s["path"] + " " + s["note"] for s in by_argv[("entry",)]["resolution"])
    assert "/usr/bin/entry" in entry and "interpreter /bin/sh" in entry and "riscv64" in entry, entry
    rules = " ".join(s["path"] + " " + s["note"] for s in by_argv[("iptables", "-t", "nat", "-S")]["resolution"])
    assert "xtables-legacy-multi" in rules and "riscv64" in rules, rules
    save = " ".join(s["path"] + " " + s["note"] for s in by_argv[("ip6tables-save",)]["resolution"])
    assert "ip6tables-legacy-save" in save and "xtables-legacy-multi" in save, save

    # smoke: iptables runs under containerd + qemu and names its backend; the
    # directories it needs (its lock is /run/xtables.lock) came from upstream.
    s = archport("smoke", dest, "--containerd-address", containerd.address, "--expect", r"\(legacy\)",
                 "--json", "--", "sh", "-c", "test -d /run && test -d /tmp && iptables -V", expect=None, timeout=600)
    assert s.returncode == 0, s.stdout + s.stderr
    assert "legacy" in json.loads(s.stdout)["stdout"]

    # smoke on its own takes the catalog's recipe, kernel and all; and
    # --mode kernel boots the target's kernel for any command.
    xdg = {"XDG_CACHE_HOME": str(CACHE / "xdg")}
    k = archport("smoke", f"{reg.host}/ported/rancher/klipper-lb:v0.3.5", "--debian-suite", suite(), "--json",
                 env=xdg, expect=None, timeout=900)
    kr = json.loads(k.stdout)
    assert k.returncode == 0 and kr["path"] == "kernel" and kr["ok"], k.stdout + k.stderr
    assert "-A POSTROUTING -d 10.43.0.10/32 -p tcp -j MASQUERADE" in kr["stdout"]
    v = archport("smoke", dest, "--mode", "kernel", "--debian-suite", suite(), "--expect", r"\(legacy\)", "--json",
                 "--", "iptables", "-V", env=xdg, expect=None, timeout=900)
    vr = json.loads(v.stdout)
    assert v.returncode == 0 and vr["path"] == "kernel" and vr["exitCode"] == 0, v.stdout + v.stderr


def test_the_backend_flag_changes_it_and_says_so(standin):
    r = _port(standin, "ported-nft", "--iptables-backend", "nft")
    assert r["status"] == "ported" and "iptables nft" in r["reason"], r
    notes = " ".join(r["notes"])
    assert "iptables family → nft" in notes and "--iptables-backend; the upstream image runs legacy" in notes
    # The nft backend's rules, in the riscv64 kernel's nf_tables.
    assert "iptables -t nat -S: 2 of 2 expected lines" in r["smoke"], r
    assert "-j DNAT --to-destination 10.43.0.10:80" in r["smokeOutput"], r




def test_an_interrupted_port_pushes_nothing_and_exits_130(standin, containerd, binfmt_riscv64):
    """Ctrl-C (or SIGTERM) while the smoke runs: the smoke is a failed smoke,
    port stops, nothing reaches the destination, exit 130."""
    import signal
    import subprocess
    import sys
    import threading
    import time
    from tests.support.cli import SRC

    reg = standin
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen([sys.executable, "-m", "archport.cli.main", "port", REF, "--arch", "riscv64",
                             "--strategy", "transplant", "--to", f"{reg.host}/interrupted",
                             "--mirror", f"docker.io={reg.host}", "--mirror-only", "--cache-dir", str(CACHE / "port"),
                             "--debian-suite", suite(), "--smoke-timeout", "600", "--debug"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen: list[str] = []

    def read():
        for line in proc.stderr:
            seen.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 900
    while not any("booting" in line for line in seen):          # the recipe's kernel run
        assert proc.poll() is None, "".join(seen)
        assert time.monotonic() < deadline, "".join(seen)
        time.sleep(0.2)
    time.sleep(3)                                   # the machine is booting or entry is blocking
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=120)
    reader.join(timeout=10)
    out = proc.stdout.read()
    assert rc == 130, (rc, out, "".join(seen))
    assert "ported" not in out and "Traceback" not in "".join(seen)
    assert skopeo_raw(f"{reg.host}/interrupted/{REF}") is None        # nothing pushed
    left = subprocess.run(["pgrep", "-f", "qemu-system-riscv64.*archport"], capture_output=True, text=True)
    assert left.stdout == "", left.stdout                            # the machine was stopped


def test_the_base_distribution_is_a_flag_and_alpine_needs_a_mirror(standin):
    reg = standin
    common = ("port", REF, "--arch", "riscv64", "--strategy", "transplant", "--mirror", f"docker.io={reg.host}",
              "--mirror-only", "--cache-dir", str(CACHE / "port"), "--no-smoke", "--json")
    cp = archport(*common, "--to", f"{reg.host}/onto-alpine", "--transplant-onto", "alpine:3.21", expect=1)
    (r,) = json.loads(cp.stdout)["images"]
    # This machine has no /etc/apk/repositories: Alpine needs --alpine-mirror (tests/transplant/test_alpine_base.py).
    assert not r["ok"] and "no Alpine mirror" in r["reason"] and "--alpine-mirror URL" in r["reason"], r
    assert skopeo_raw(f"{reg.host}/onto-alpine/{REF}") is None

    r = json.loads(archport(*common, "--to", f"{reg.host}/onto-debian", "--transplant-onto", f"debian:{suite()}",
                            timeout=1800).stdout)["images"][0]
    assert r["status"] == "ported" and f"Debian {suite()}" in r["reason"], r

    bad = archport(*common, "--to", f"{reg.host}/x", "--transplant-onto", "ubuntu:noble", expect=2)
    assert "expected debian:SUITE" in bad.stdout + bad.stderr         # --json: the error is the document
    both = archport(*common, "--to", f"{reg.host}/x", "--transplant-onto", "debian:trixie", "--debian-suite", "sid",
                    expect=2)
    assert "name two suites" in both.stdout + both.stderr
