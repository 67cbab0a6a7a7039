"""Safe extraction, whiteouts, and resolving argv[0] inside the root."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from archport.smoke import rootfs


def layer(tmp: Path, name: str, entries: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]]) -> Path:
    p = tmp / name
    with tarfile.open(p, "w:gz") as tar:
        for e in entries:
            if isinstance(e, tuple):
                tar.addfile(e[0], io.BytesIO(e[1]))
            else:
                tar.addfile(e)
    return p


def f(name, data=b"x", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode = len(data), mode
    return ti, data


def kind(name, type_, linkname="", mode=0o755):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode = type_, linkname, mode
    return ti


ELF_RISCV = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x02\x00\xf3\x00" + b"\0" * 40
ELF_AMD64 = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"\x02\x00\x3e\x00" + b"\0" * 40


def test_hostile_entries_never_land_outside(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    l1 = layer(tmp_path, "l1.tgz", [
        f("../escape", b"bad"),
        f("/abs", b"bad"),
        kind("link", tarfile.SYMTYPE, str(outside)),
        f("link/through", b"bad"),                     # write through a planted symlink
        kind("dev", tarfile.CHRTYPE),
        kind("fifo", tarfile.FIFOTYPE),
        kind("hard", tarfile.LNKTYPE, "../../etc/passwd"),
        f("ok/file", b"good", 0o4755),
    ])
    root = tmp_path / "root"
    findings = rootfs.extract([l1], root)
    assert not (tmp_path / "escape").exists() and not list(outside.iterdir())
    assert (root / "ok/file").read_bytes() == b"good"
    assert os.stat(root / "ok/file").st_mode & 0o7777 == 0o755  # set-id dropped
    assert not (root / "dev").exists() and not (root / "fifo").exists() and not (root / "hard").exists()
    assert len(findings) == 6, findings


def test_whiteouts_and_opaque_dirs(tmp_path):
    l1 = layer(tmp_path, "l1.tgz", [f("a/keep"), f("a/gone"), f("b/old1"), f("b/old2")])
    l2 = layer(tmp_path, "l2.tgz", [f("a/.wh.gone"), f("b/.wh..wh..opq"), f("b/new")])
    root = tmp_path / "root"
    rootfs.extract([l1, l2], root)
    assert sorted(os.listdir(root / "a")) == ["keep"]
    assert sorted(os.listdir(root / "b")) == ["new"]


def test_find_exec_follows_path_and_symlinks(tmp_path):
    l1 = layer(tmp_path, "l1.tgz", [
        f("opt/app/bin/app", ELF_RISCV, 0o755),
        kind("usr/bin/app", tarfile.SYMTYPE, "/opt/app/bin/app"),
        kind("bin", tarfile.SYMTYPE, "usr/bin"),
        f("usr/bin/script", b"#!/bin/sh\necho\n", 0o755),
        f("usr/bin/x86", ELF_AMD64, 0o755),
        f("usr/bin/noexec", ELF_RISCV, 0o644),
    ])
    root = tmp_path / "root"
    rootfs.extract([l1], root)
    t = rootfs.find_exec(root, "app", "/usr/local/bin:/bin")
    assert t.path == "/opt/app/bin/app" and t.machine == "riscv64"
    assert rootfs.find_exec(root, "script", "/bin").machine == "script"
    assert rootfs.find_exec(root, "/usr/bin/x86", "").machine == "amd64"
    assert rootfs.find_exec(root, "noexec", "/usr/bin").path is None
    assert rootfs.find_exec(root, "app", "/sbin").path is None
    assert rootfs.find_exec(root, "./bin/app", "", "/usr").path == "/opt/app/bin/app"


def test_symlink_loops_and_climbing_stay_inside(tmp_path):
    l1 = layer(tmp_path, "l1.tgz", [kind("a", tarfile.SYMTYPE, "b"), kind("b", tarfile.SYMTYPE, "a"),
                                     kind("up", tarfile.SYMTYPE, "../../../../etc")])
    root = tmp_path / "root"
    rootfs.extract([l1], root)
    assert rootfs.resolve_path(root, "/a") is None
    assert rootfs.resolve_path(root, "/up") is None  # /etc does not exist inside the root
