"""deb: busybox-static for riscv64 from the real Debian archive (trixie), run under qemu-user."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess

import pytest

from archport.build.elf import read_elf
from archport.catalog.loader import load
from archport.emulation import qemu_binary
from archport.platform import parse as parse_platform
from archport.strategies import deb as deb_module
from archport.strategies.deb import Deb

from archport.check import Contract

from .helpers import check_built, env, layer_members, unpack, upstream

RISCV = parse_platform("linux/riscv64")
REF = "rancher/mirrored-library-busybox:1.34.1"


def _busybox():
    """The real catalog entry (busybox-static from trixie, /usr/bin/busybox)."""
    return load().component("busybox")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("debcache")


def _env(tmp_path, cache):
    e = env(tmp_path)
    return dataclasses.replace(e, cache_dir=cache)


def test_busybox_static_riscv64_gives_bin_sh(tmp_path, cache):
    up = upstream(REF, _busybox(), {"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]})
    e = _env(tmp_path, cache)
    d = Deb().consider(up, RISCV, e)
    assert d.applies, d.reason
    out = Deb().build(up, RISCV, e)
    notes = " ".join(out.notes)
    assert "from Debian trixie" in notes and "--list-full run under qemu-riscv64" in notes
    members = layer_members(out.built)
    assert members["bin/busybox"].isfile() and members["bin/busybox"].mode == 0o755
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
    assert len([m for m in members.values() if m.issym()]) > 100
    cfg = json.loads(out.built.config)
    assert cfg["config"]["Cmd"] == ["sh"] and cfg["architecture"] == "riscv64"
    root = unpack(out.built, tmp_path / "rootfs")
    info = read_elf((root / "bin" / "busybox").read_bytes())
    assert info.goarch == "riscv64" and info.static
    qemu = qemu_binary(RISCV)
    r = subprocess.run([qemu, "-L", str(root), str(root / "bin" / "sh"), "-c", "echo ok"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    # check: the image config (Cmd sh) and the helper pod's command resolve to a riscv64 program.
    pod = Contract(source="helper pod", command=("/bin/sh", "/script/setup"))
    report = check_built(out.built, tmp_path, (Contract(), pod))
    assert report.ok, report.to_dict()
    # The helper pod's script uses mkdir/rm: those resolve through the links too.
    assert os.path.islink(root / "bin" / "mkdir") and os.path.islink(root / "bin" / "rm")


def test_without_qemu_the_catalog_minimal_list_is_used(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(deb_module, "qemu_binary", lambda _p: None)
    up = upstream(REF, _busybox(), {"Cmd": ["sh"]})
    out = Deb().build(up, RISCV, _env(tmp_path, cache))
    assert "catalog's minimal list (/bin/sh)" in " ".join(out.notes)
    members = layer_members(out.built)
    assert [n for n, m in members.items() if m.issym()] == ["bin/sh"]


def test_explicit_archive_url_and_bad_keyring(tmp_path, cache):
    up = upstream(REF, _busybox(), {"Cmd": ["sh"]})
    empty = tmp_path / "empty.gpg"
    empty.write_bytes(b"")
    strategy = Deb(archive_url=_first_archive(), keyring=str(empty))
    with pytest.raises(deb_module.NotPortable, match="signature does not verify"):
        strategy.build(up, RISCV, _env(tmp_path, tmp_path / "fresh-cache"))


def test_no_package_for_the_arch(tmp_path):
    up = upstream(REF, "busybox", {"Cmd": ["sh"]})
    d = Deb().consider(up, parse_platform("linux/loong64"), env(tmp_path))
    assert not d.applies and "no Debian package" in d.reason


def _first_archive() -> str:
    from archport.debian import apt_sources
    return apt_sources()[0].uri
