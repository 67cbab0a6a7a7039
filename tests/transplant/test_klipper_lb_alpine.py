"""klipper-lb's shape transplanted onto an Alpine base, end to end, with the kernel smoke.

The upstream stand-in is Alpine-shaped, as the real rancher/klipper-lb:v0.3.5
is (alpine:3.12 + iptables + ip6tables, ``CMD ["entry"]``), for amd64 and
arm64: ``lib/apk/db/installed`` names musl, busybox, libmnl, libnftnl-libs,
iptables and ip6tables with their files (placeholder bytes: they are
replaced, never carried), ``etc/apk/world`` names busybox, iptables and
ip6tables, the iptables family is links to ``xtables-legacy-multi`` owned by
the iptables and ip6tables packages (the legacy backend, as Alpine's
iptables was before 1.8.9-r4), busybox's applet links belong to no package,
and ``/usr/bin/entry`` is klipper-lb's entry stand-in (standins/debian.py).

Alpine's mirrors are not reachable here: the port reads a loopback Alpine
repository (tests/support/apkrepo.py) signed with a throwaway key, holding
Debian's riscv64 busybox and Debian's riscv64 iptables with its library
closure under Alpine's names and layout (tests/support/apkrepo_iptables.py):
stand-ins with Debian content, glibc instead of musl.

What is proven: the port resolves the world's names and their ``so:``
dependencies, adds ``iptables-legacy`` for the upstream image's backend,
points the family at it, and the catalog's klipper-lb recipe boots Debian's
riscv64 kernel under qemu-system-riscv64 with the image as its root: the
entry's DNAT and MASQUERADE rules are then in its netfilter; and with
``--iptables-backend nft`` through nf_tables.
"""

from __future__ import annotations

import json
import os

import pytest

from archport.transplant import parse_apk
from tests.strategies.helpers import Server
from tests.support import apkrepo, apkrepo_iptables
from tests.support.cli import archport
from tests.support.port import skopeo_raw, upstream_digests

from standins.debian import CACHE, ENTRY, GROUP, PASSWD, PATH_ENV, SVCLB, push, suite
from .test_alpine_base import image_files

# Under a path of its own so that test_klipper_lb's stand-in (same session
# registry, rancher/klipper-lb:v0.3.5) is never overwritten; the path still
# ends in rancher/klipper-lb, so the catalog recognises the component.
REPO_TAG = "alpine-base/rancher/klipper-lb:v0.3.5"
CONFIG = {"Cmd": ["entry"], "Env": [PATH_ENV]}
ARCHES = {"amd64": ("x86_64", 62), "arm64": ("aarch64", 183)}          # Alpine's name, ELF e_machine
RULES = ("-A PREROUTING ! -s 10.43.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.43.0.10:80",
         "-A POSTROUTING -d 10.43.0.10/32 -p tcp -j MASQUERADE")
APPLETS = ("bin/sh", "bin/ash", "bin/cat", "bin/echo", "bin/grep", "bin/sleep", "bin/mkdir", "usr/bin/mkfifo",
           "usr/bin/test", "usr/bin/[", "usr/bin/tr", "usr/bin/env")
LEGACY = "->xtables-legacy-multi"


def installed_packages(arch: str) -> list[tuple[str, str, str, str, dict]]:
    """(name, version, D:, p:, files) of the upstream image's packages, with
    versions of Alpine 3.12's time (placeholders: not read from its index);
    "elf" marks a file that gets an ELF placeholder for ``arch``."""
    musl = f"so:libc.musl-{arch}.so.1"
    return [
        ("musl", "1.1.24-r10", "", f"{musl}=1",
         {f"lib/ld-musl-{arch}.so.1": "elf", f"lib/libc.musl-{arch}.so.1": f"->ld-musl-{arch}.so.1"}),
        ("busybox", "1.31.1-r22", musl, "/bin/sh cmd:busybox=1.31.1-r22 cmd:sh=1.31.1-r22", {"bin/busybox": "elf"}),
        ("libmnl", "1.0.4-r0", musl, "so:libmnl.so.0=0.2.0",
         {"usr/lib/libmnl.so.0.2.0": "elf", "usr/lib/libmnl.so.0": "->libmnl.so.0.2.0"}),
        ("libnftnl-libs", "1.1.6-r0", f"{musl} so:libmnl.so.0", "so:libnftnl.so.11=11.3.0",
         {"usr/lib/libnftnl.so.11.3.0": "elf", "usr/lib/libnftnl.so.11": "->libnftnl.so.11.3.0"}),
        ("iptables", "1.8.4-r2", f"{musl} so:libmnl.so.0 so:libnftnl.so.11",
         "so:libip4tc.so.2=2.0.0 so:libxtables.so.12=12.2.0",
         {"sbin/xtables-legacy-multi": "elf", **{f"sbin/{c}": LEGACY for c in (
             "iptables", "iptables-save", "iptables-restore", "iptables-legacy", "iptables-legacy-save",
             "iptables-legacy-restore")},
          "usr/lib/libxtables.so.12.2.0": "elf", "usr/lib/libxtables.so.12": "->libxtables.so.12.2.0",
          "usr/lib/libip4tc.so.2.0.0": "elf", "usr/lib/libip4tc.so.2": "->libip4tc.so.2.0.0",
          "usr/lib/xtables/libxt_tcp.so": "elf", "usr/lib/xtables/libxt_MASQUERADE.so": "elf",
          "usr/lib/xtables/libipt_DNAT.so": "elf"}),
        ("ip6tables", "1.8.4-r2", f"iptables {musl} so:libxtables.so.12", "so:libip6tc.so.2=2.0.0",
         {**{f"sbin/{c}": LEGACY for c in ("ip6tables", "ip6tables-save", "ip6tables-restore", "ip6tables-legacy",
                                           "ip6tables-legacy-save", "ip6tables-legacy-restore")},
          "usr/lib/libip6tc.so.2.0.0": "elf", "usr/lib/libip6tc.so.2": "->libip6tc.so.2.0.0",
          "usr/lib/xtables/libip6t_DNAT.so": "elf"}),
    ]


def installed_db(arch: str) -> str:
    """``lib/apk/db/installed`` as apk writes it: index lines, then ``F:`` and ``R:``."""
    blocks = []
    for name, version, depends, provides, files in installed_packages(arch):
        lines = [f"P:{name}", f"V:{version}", f"A:{arch}", f"o:{name}", "t:1590000000"]
        lines += [f"D:{depends}"] * bool(depends) + [f"p:{provides}"] * bool(provides)
        current = None
        for path in sorted(files):
            parent, _, base = path.rpartition("/")
            if parent != current:
                lines.append(f"F:{parent}")
                current = parent
            lines.append(f"R:{base}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def alpine_root(goarch: str) -> dict:
    arch, machine = ARCHES[goarch]
    elf = b"\x7fELF\x02\x01\x01" + b"\0" * 11 + machine.to_bytes(2, "little") + b"\0" * 44
    files: dict = {"lib/apk/db/installed": installed_db(arch).encode(),
                   "etc/apk/world": b"busybox\niptables\nip6tables\n"}
    for *_, owned in installed_packages(arch):
        for path, what in owned.items():
            files[path] = (elf, 0o755) if what == "elf" else what
    for applet in APPLETS:
        files[applet] = "->/bin/busybox"
    files.update({"usr/bin/entry": (ENTRY, 0o755), "etc/passwd": PASSWD, "etc/group": GROUP,
                  "run": ("dir", 0o755, 0, 0), "tmp": ("dir", 0o1777, 0, 0)})
    return files


@pytest.fixture(scope="module")
def upstream_ref(registry_plain, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("alpine-klipper-lb")
    push(tmp, registry_plain, REPO_TAG, {a: alpine_root(a) for a in ARCHES}, CONFIG)
    return f"{registry_plain.host}/{REPO_TAG}"


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return apkrepo.keypair(tmp_path_factory.mktemp("apk-key"))


@pytest.fixture(scope="module")
def mirror(tmp_path_factory, key):
    """v3.20/main/riscv64: busybox (and the rest of apkrepo's) plus the iptables stand-ins, served on 127.0.0.1."""
    root = tmp_path_factory.mktemp("alpine-mirror")
    packages = apkrepo.riscv64_packages() + apkrepo_iptables.riscv64_iptables_packages()
    apkrepo.write_repo(root, "v3.20", "main", "riscv64", packages, key)
    server = Server(root)
    try:
        yield server, packages
    finally:
        server.close()


def _port(ref: str, reg, mirror: str, keys, to: str, *extra: str) -> dict:
    cp = archport("port", ref, "--arch", "riscv64", "--strategy", "transplant", "--transplant-onto", "alpine:3.20",
                  "--alpine-mirror", mirror, "--alpine-keys", str(keys), "--to", f"{reg.host}/{to}",
                  "--mirror", f"docker.io={reg.host}", "--mirror-only", "--cache-dir", str(CACHE / "port"),
                  "--debian-suite", suite(), "--smoke-timeout", "20", "--json", *extra,
                  env=dict(os.environ), expect=None, timeout=1800)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    return r


def _smoked(r: dict) -> None:
    assert r["smoke"].startswith("ok (still running"), r          # entry blocks on /pause
    assert "iptables -t nat -S: 2 of 2 expected lines; on the target's kernel" in r["smoke"], r
    for rule in RULES:
        assert rule in r["smokeOutput"], r["smokeOutput"]


def _version_on_the_kernel(dest: str, expect: str) -> str:
    """``iptables -V`` in the image on the target's kernel: which backend the family runs."""
    v = archport("smoke", dest, "--mode", "kernel", "--debian-suite", suite(), "--expect", expect, "--json", "--",
                 "iptables", "-V", env={"XDG_CACHE_HOME": str(CACHE / "xdg")}, expect=None, timeout=900)
    vr = json.loads(v.stdout)
    assert v.returncode == 0 and vr["path"] == "kernel" and vr["exitCode"] == 0, v.stdout + v.stderr
    return vr["stdout"]


def test_klipper_lb_onto_alpine_keeps_the_legacy_backend(upstream_ref, mirror, key, registry_plain, tmp_path):
    server, packages = mirror
    r = _port(upstream_ref, registry_plain, server.url, key.keys_dir, "ported-alpine-lb")
    assert r["status"] == "ported" and r["strategy"] == "transplant", r
    assert "iptables legacy" in r["reason"], r
    assert r["check"].startswith("ok"), r
    _smoked(r)
    notes = " ".join(r["notes"])
    assert "iptables-legacy added: Alpine v3.20 packages the legacy backend apart" in notes, notes
    assert "Alpine packages wanted (/etc/apk/world): busybox, iptables, ip6tables, iptables-legacy" in notes, notes
    assert "iptables family → /sbin/xtables-legacy-multi (6 commands), the upstream image's" in notes, notes

    dest = r["destination"]
    index = skopeo_raw(dest)
    got = {m["platform"]["architecture"]: m["digest"] for m in index["manifests"]}
    up = upstream_digests(registry_plain, REPO_TAG)
    assert got == {"amd64": up["linux/amd64"], "arm64": up["linux/arm64"], "riscv64": r["platformDigest"]}
    ann = skopeo_raw(f"{dest.rsplit(':', 1)[0]}@{r['platformDigest']}")["annotations"]
    assert ann["io.archport.transplant.iptables"] == "legacy (the upstream image's)", ann
    assert ann["io.archport.transplant.base"].startswith("Alpine v3.20 riscv64"), ann
    chosen = dict(p.split("=", 1) for p in ann["io.archport.transplant.packages"].split(","))
    versions = {p.name: p.version for p in packages}
    # The world, iptables-legacy, and what their so: dependencies resolve to; nothing else.
    want = {"busybox", "iptables", "ip6tables", "iptables-legacy", "glibc-stand-in", "libmnl", "libnftnl",
            "libnfnetlink", "libnetfilter_conntrack"}
    assert chosen == {n: versions[n] for n in want}, chosen

    files = image_files(dest, tmp_path / "image")
    for cmd in ("iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"):
        m = files[f"sbin/{cmd}"][0]
        assert m.issym() and m.linkname == "xtables-legacy-multi", (cmd, m.linkname)
    legacy = files["sbin/xtables-legacy-multi"][1]
    assert legacy[:4] == b"\x7fELF" and int.from_bytes(legacy[18:20], "little") == 243       # EM_RISCV
    assert files["lib/ld-linux-riscv64-lp64d.so.1"][0].issym()
    assert "usr/lib/riscv64-linux-gnu/xtables/libxt_MASQUERADE.so" in files
    assert not any(p.startswith("usr/lib/xtables/") or "musl" in p for p in files), "upstream's own files carried"
    assert files["usr/bin/entry"][1] == ENTRY and files["bin/sh"][0].linkname == "/bin/busybox"
    db = parse_apk(files["lib/apk/db/installed"][1].decode())
    assert {p.name for p in db.packages} == want
    assert "sbin/xtables-legacy-multi" in next(p for p in db.packages if p.name == "iptables-legacy").files
    assert "(legacy)" in _version_on_the_kernel(dest, r"\(legacy\)")

    # check: the entry's interpreter, and iptables as ServiceLB's pod and a user call it: Debian's
    # loader and libraries found through Alpine's /lib and the multiarch directory.
    manifests = tmp_path / "svclb.yaml"
    manifests.write_text(SVCLB)
    c = json.loads(archport("check", dest, "--manifests", str(manifests), "--image-name", "rancher/klipper-lb:v0.3.5",
                            "--json").stdout)
    assert c["ok"], json.dumps(c, indent=1)[:3000]
    by_argv = {tuple(o["argv"]): " ".join(s["path"] + " " + s["note"] for s in o["resolution"])
               for o in c["contracts"]}
    assert "/usr/bin/entry" in by_argv[("entry",)] and "interpreter /bin/sh" in by_argv[("entry",)]
    rules = by_argv[("iptables", "-t", "nat", "-S")]
    assert "/sbin/xtables-legacy-multi" in rules and "/lib/ld-linux-riscv64-lp64d.so.1" in rules, rules
    assert "libxtables.so.12" in rules and "riscv64" in rules, rules
    assert "xtables-legacy-multi" in by_argv[("ip6tables-save",)], by_argv


def test_the_backend_flag_takes_alpines_default_nft(upstream_ref, mirror, key, registry_plain, tmp_path):
    server, _ = mirror
    r = _port(upstream_ref, registry_plain, server.url, key.keys_dir, "ported-alpine-lb-nft",
              "--iptables-backend", "nft")
    assert r["status"] == "ported" and "iptables nft" in r["reason"], r
    _smoked(r)
    notes = " ".join(r["notes"])
    assert "iptables-legacy" not in notes, notes
    assert "iptables family → /sbin/xtables-nft-multi (6 commands), --iptables-backend; the upstream image runs " \
           "legacy" in notes, notes
    dest = r["destination"]
    ann = skopeo_raw(f"{dest.rsplit(':', 1)[0]}@{r['platformDigest']}")["annotations"]
    assert ann["io.archport.transplant.iptables"] == "nft (--iptables-backend; the upstream image runs legacy)"
    assert "iptables-legacy=" not in ann["io.archport.transplant.packages"], ann
    files = image_files(dest, tmp_path / "image")
    assert files["sbin/iptables"][0].issym() and files["sbin/iptables"][0].linkname == "xtables-nft-multi"
    # So the smoke's rules were written through nf_tables; and iptables -V
    # says so on the kernel, whose nf_tables modules the recipe names
    # (smoke --mode kernel -- COMMAND loads the recipe's modules, not its checks).
    assert "sbin/xtables-legacy-multi" not in files
    assert "(nf_tables)" in _version_on_the_kernel(dest, r"\(nf_tables\)")


def test_kernel_modules_and_sysctls_are_flags_of_kernel_runs_only(tmp_path):
    base = ("smoke", "example.invalid/x:v1", "--json")
    for extra, says in ((("--module", "nf_tables"), "add --mode kernel"),
                        (("--mode", "kernel", "--module", "../evil"), "kernel module name"),
                        (("--mode", "kernel", "--sysctl", "net.ipv4.ip_forward"), "NAME=VALUE")):
        cp = archport(*base, *extra, "--", "true", expect=2)
        assert says in cp.stdout + cp.stderr, cp.stdout + cp.stderr
