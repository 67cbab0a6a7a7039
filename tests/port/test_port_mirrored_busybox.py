"""rancher/mirrored-library-busybox is a mirror of library/busybox, tag for
tag, without its linux/riscv64 child: port appends that child unchanged
(the official digest), then check and smoke run on it as on any port.

The official image stands in on a loopback registry shaped as it is (a root
file system on scratch: /bin/busybox and applet links, CMD sh), its riscv64
busybox taken from Debian's busybox-static for riscv64 so that the smoke's
shell really runs under emulation; rancher's copy has the same amd64 child
and no riscv64."""

from __future__ import annotations

import itertools
import json

from standins import images as im
from standins.debian import _fsys, fetch_debs
from tests.support.cli import archport
from tests.support.port import skopeo_raw

_tags = itertools.count(1)
CONFIG = {"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}


def _busybox(arch: str):
    (_stanza, deb), = fetch_debs(arch, ("busybox-static",))
    binary = next(data for m, data in _fsys(deb) if m.name.rstrip("/").endswith("bin/busybox") and m.isfile())
    files = {"bin/busybox": (binary, 0o755)}
    for applet in ("sh", "mkdir", "rm", "echo", "chmod"):
        files[f"bin/{applet}"] = "->busybox"
    return im.make_image(f"linux/{arch}", [im.layer_from_files(files)], config=CONFIG)


def test_port_appends_the_official_riscv64_child_and_proves_it(registry_plain, containerd, binfmt_riscv64, tmp_path):
    reg = registry_plain
    tag = f"1.37.{next(_tags)}"
    amd, rv = _busybox("amd64"), _busybox("riscv64")
    official = im.write_layout(tmp_path / "official", {tag: (im.make_index([amd, rv]), [amd, rv])})
    im.push(official, tag, f"{reg.host}/library/busybox:{tag}")
    mirror = im.write_layout(tmp_path / "rancher", {tag: (im.make_index([amd]), [amd])})
    im.push(mirror, tag, f"{reg.host}/rancher/mirrored-library-busybox:{tag}")

    cp = archport("port", f"rancher/mirrored-library-busybox:{tag}", "--arch", "riscv64", "--to",
                  f"{reg.host}/ported", "--mirror", f"docker.io={reg.host}", "--mirror-only",
                  "--cache-dir", str(tmp_path / "cache"), "--smoke-timeout", "60", "--json", timeout=900)
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported" and r["strategy"] == "mirror", r
    assert r["platformDigest"] == str(rv.manifest.digest), r          # digest for digest: the official child
    assert any(f"is a mirror of library/busybox:{tag}" in n for n in r["notes"]), r["notes"]
    assert r["check"].startswith("ok"), r
    assert "helper-pod shell ok" in r["smokeOutput"], r                 # the catalog's smoke, run on it
    index = skopeo_raw(f"{reg.host}/ported/rancher/mirrored-library-busybox:{tag}")
    assert {m["digest"] for m in index["manifests"]} == {str(amd.manifest.digest), str(rv.manifest.digest)}
