"""Time of each transplant, cold and cached, next to its peer.

Two distro-shaped stand-ins (Debian packages with a real dpkg database, as
the transplant tests build them: standins/debian.py), each ported to
riscv64 with ``archport port --strategy transplant``, check and smoke
included, three times:

- cold: empty archport cache and an empty Go build cache (modules come from
  the machine's module cache: downloads are not what is timed);
- cached: the same caches again, into a fresh destination;
- the peer, in the same run: what a person does by hand for the same result
  without archport — for klipper-lb, nothing can be compared (there is no
  tool that transplants a userland), so its smoke alone is timed; for the
  helm binaries, plain ``go build`` of the same three programs for riscv64
  from the same sources (helm v2 with the catalog's go.mod), cold, which is
  the floor a port that rebuilds them cannot go under.

1. klipper-lb v0.3.5: busybox-static + iptables, entry script; the smoke is
   the catalog's kernel run (Debian's riscv64 kernel under
   qemu-system-riscv64, iptables rules checked).
2. helm binaries: the real helm v2.17.0 (helm, tiller) and helm v3.8.1 that
   klipper-helm carries, rebuilt from the shipped catalog (the stand-in's
   binaries are checkout builds of a fixture, as tests/transplant does).
3. traefik's shape onto Alpine 3.20 (``--transplant-onto alpine:3.20``): the
   Alpine-shaped stand-in of tests/transplant/test_alpine_base.py, its
   packages from the loopback Alpine-format stand-in mirror
   (tests/support/apkrepo.py).  Peer: ``curl`` the same .apk files and
   ``tar -xzf`` them, unverified, which is the floor of the userland step.

Run (root: containerd, binfmt, qemu-system):
    PYTHONPATH=src:. python bench/transplant.py [--only klipper-lb|helm|alpine]
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]

from archport.catalog import load  # noqa: E402
from archport.toolchain.gocompile import place_gomod  # noqa: E402
from tests.strategies.helpers import Server  # noqa: E402
from tests.support import apkrepo, goproxy, gobuild  # noqa: E402
from tests.support.port import HELLO_CATALOG, OLD_GO, go_env_value, go_install, workspace  # noqa: E402
from tests.support.registry import Registry  # noqa: E402
from standins.debian import PATH_ENV, debian_root, push, push_standin, suite  # noqa: E402

HELM_REF = "rancher/klipper-helm:v0.7.2-build20220526"
ENTRY = b"#!/bin/sh\n[ $# -gt 0 ] || set -- helm_v2 version --client\nexec \"$@\"\n"


def port(ref: str, reg: Registry, dest: str, cache: Path, env: dict, *base: str) -> tuple[float, dict]:
    t = time.monotonic()
    cp = subprocess.run([sys.executable, "-m", "archport.cli.main", "port", ref, "--arch", "riscv64",
                         "--strategy", "transplant", "--to", f"{reg.host}/{dest}", "--mirror",
                         f"docker.io={reg.host}", "--mirror-only", "--cache-dir", str(cache),
                         *(base or ("--debian-suite", suite())), "--json"], env=env, capture_output=True, text=True)
    took = time.monotonic() - t
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported" and r["check"].startswith("ok") and r["smoke"].startswith("ok"), r
    return took, r


def helm_standin(tmp: Path, reg: Registry, env: dict) -> None:
    per_arch = {}
    for arch in ("amd64", "arm64"):
        src = tmp / f"checkout-{arch}"
        shutil.copytree(goproxy.FIXTURES / "hello@v1.2.3", src)
        devel = gobuild.build(src, arch, tmp / f"devel-{arch}", flags=["-trimpath"], toolchain=OLD_GO, env=env,
                              extra_env={"GOFLAGS": "-mod=mod"}, timeout=1200).read_bytes()
        files = debian_root(arch, ("busybox-static",))
        files.update({f"usr/bin/{b}": (devel, 0o755) for b in ("helm_v2", "tiller", "helm_v3")})
        files["usr/bin/entry"] = (ENTRY, 0o755)
        per_arch[arch] = files
    push(tmp, reg, HELM_REF, per_arch, {"Entrypoint": ["entry"], "Env": [PATH_ENV]})


def plain_go_builds(tmp: Path, env: dict) -> float:
    """``go build`` of helm v2 (helm, tiller) and helm v3 for riscv64, as by hand, cold Go build cache."""
    comp = load().component("klipper-helm")
    genv = {**env, "GOCACHE": str(tmp / "gocache-plain"), "GOFLAGS": "-mod=mod", "GOOS": "linux",
            "GOARCH": "riscv64", "CGO_ENABLED": "0", "GOTOOLCHAIN": "local"}
    total = 0.0
    for path in ("/usr/bin/helm_v2", "/usr/bin/tiller", "/usr/bin/helm_v3"):
        b = comp.binary("v0.7.2-build20220526", path)
        modcache = go_env_value("GOMODCACHE")
        src = tmp / f"plain-{path.rsplit('/', 1)[1]}"
        shutil.copytree(f"{modcache}/{b.module}@{b.version}", src)
        subprocess.run(["chmod", "-R", "u+w", str(src)], check=True)
        if b.gomod:         # the catalog's go.mod, as a person following it would write it
            place_gomod(src, b.gomod, b.local, lambda m: Path(f"{modcache}/{m.source}"))
        x = [a for a in b.ldflags_for(b.version)]
        t = time.monotonic()
        cp = subprocess.run(["go", "build", "-trimpath", "-o", str(tmp / "out"), "-ldflags", " ".join(x),
                             b.package], cwd=src, env=genv, capture_output=True, text=True)
        total += time.monotonic() - t
        assert cp.returncode == 0, cp.stderr[-2000:]
    return total


def alpine_standin(tmp: Path, reg: Registry, env: dict) -> tuple[str, Path, apkrepo.Key, list]:
    """The Alpine-shaped traefik stand-in pushed, and its stand-in mirror written."""
    from tests.transplant.test_alpine_base import CONFIG as ALPINE_CONFIG, REPO_TAG, alpine_root
    tmp.mkdir(parents=True, exist_ok=True)
    binary = go_install("example.test/hello@v1.2.3", "amd64", env, tmp, "-X main.version=2.6.2", OLD_GO)
    push(tmp, reg, REPO_TAG, {"amd64": alpine_root(binary.read_bytes())}, ALPINE_CONFIG)
    key = apkrepo.keypair(tmp / "key")
    packages = apkrepo.riscv64_packages()
    apkrepo.write_repo(tmp / "mirror", "v3.20", "main", "riscv64", packages, key)
    return f"{reg.host}/{REPO_TAG}", tmp / "mirror", key, packages


def by_hand(url: str, packages: list, tmp: Path) -> float:
    """curl + tar -xzf of the same .apk files, nothing checked."""
    root = tmp / "by-hand"
    root.mkdir()
    t = time.monotonic()
    for p in packages:
        subprocess.run(f"curl -sf {url}/v3.20/main/riscv64/{p.filename} | tar -xzf - -C {root} 2>/dev/null",
                       shell=True, check=False)
    return time.monotonic() - t


def verified(url: str, keys: Path, packages: list, tmp: Path) -> float:
    """archport's own userland step for the same files: the signed index, then
    each .apk fetched, checked (C:, datahash) and unpacked with its file
    SHA-1s, into an empty cache."""
    import httpx
    from archport.fetch.alpine import Repository
    from archport.transplant import apkfiles
    t = time.monotonic()
    with httpx.Client() as http:
        repo = Repository(url, str(keys), tmp / "verified-cache", http)
        entries, _ = repo.index("v3.20", "main", "riscv64")
        for e in entries:
            path, data = repo.package("v3.20", "riscv64", e)
            apkfiles.unpack(path, data, tmp / "verified" / e.name)
    assert len(entries) == len(packages)
    return time.monotonic() - t


def main() -> None:
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=("klipper-lb", "helm", "alpine"))
    only = ap.parse_args().only
    with workspace("bench-transplant-") as (tmp, reg, env):
        rows = [(name, label, ref) for name, label, ref in
                (("klipper-lb", "klipper-lb (kernel smoke)", "rancher/klipper-lb:v0.3.5"),
                 ("helm", "helm v2 + tiller + helm v3", HELM_REF)) if only in (None, name)]
        if any(name == "klipper-lb" for name, _, _ in rows):
            push_standin(tmp / "lb", reg)
        if any(name == "helm" for name, _, _ in rows):
            helm_standin(tmp / "helm", reg, env)
        for _name, label, ref in rows:
            cache = tmp / f"cache-{ref.split('/')[1].split(':')[0]}"
            env["GOCACHE"] = str(tmp / f"gocache-{cache.name}")
            cold, r = port(ref, reg, "cold", cache, env)
            warm, r2 = port(ref, reg, "cached", cache, env)
            print(f"{label:30} cold {cold:7.1f} s   cached {warm:6.1f} s   smoke: {r['smoke'][:90]}")
        if only in (None, "helm"):
            plain = plain_go_builds(tmp, env)
            print(f"{'peer: plain go build, cold':30} {plain:7.1f} s  (helm v2 helm + tiller, helm v3, riscv64)")
        if only not in (None, "alpine"):
            return
        ref, mirror, key, packages = alpine_standin(tmp / "alpine", reg, env)
        catalog = tmp / "hello.toml"
        catalog.write_text(HELLO_CATALOG)
        served = Server(mirror)
        try:
            base = ("--transplant-onto", "alpine:3.20", "--alpine-mirror", served.url, "--alpine-keys",
                    str(key.keys_dir), "--catalog", str(catalog))
            env["GOCACHE"] = str(tmp / "gocache-alpine")
            cold, r = port(ref, reg, "alpine-cold", tmp / "cache-alpine", env, *base)
            warm, _ = port(ref, reg, "alpine-cached", tmp / "cache-alpine", env, *base)
            hand = by_hand(served.url, packages, tmp)
            ours = verified(served.url, key.keys_dir, packages, tmp)
        finally:
            served.close()
        print(f"{'traefik shape onto Alpine 3.20':30} cold {cold:7.1f} s   cached {warm:6.1f} s   smoke: "
              f"{r['smoke'][:60]}")
        print(f"{'userland: archport, verified':30} {ours:7.2f} s  (index signature, C:, datahash, file SHA-1s)")
        print(f"{'peer: curl + tar, unverified':30} {hand:7.2f} s  ({len(packages)} .apk files; ratio "
              f"{ours / hand:.2f})")


if __name__ == "__main__":
    main()
