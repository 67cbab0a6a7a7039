"""Resolving argv[0] inside the image's merged view, before anything runs."""

from __future__ import annotations

import tarfile
from pathlib import Path

from archport.imagefs import PathError, RootFS, apply_layer
from archport.smoke.target import find_exec
from tests.imagefs.helpers import ELF_AMD64, ELF_RISCV, f, kind, layer


def merged(layers: list[Path]) -> RootFS:
    fs = RootFS(spool=False)
    for i, p in enumerate(layers):
        apply_layer(fs, i, [p.read_bytes()], f"layer {i + 1}")
    return fs


def resolve_path(fs: RootFS, path: str) -> str | None:
    try:
        return fs.resolve(path).path
    except PathError:
        return None


def test_find_exec_follows_path_and_symlinks(tmp_path):
    l1 = layer(tmp_path, "l1.tgz", [
        f("opt/app/bin/app", ELF_RISCV, 0o755),
        kind("usr/bin/app", tarfile.SYMTYPE, "/opt/app/bin/app"),
        kind("bin", tarfile.SYMTYPE, "usr/bin"),
        f("usr/bin/script", b"#!/bin/sh\necho\n", 0o755),
        f("usr/bin/x86", ELF_AMD64, 0o755),
        f("usr/bin/noexec", ELF_RISCV, 0o644),
    ])
    view = merged([l1])
    t = find_exec(view, "app", "/usr/local/bin:/bin")
    assert t.path == "/opt/app/bin/app" and t.machine == "riscv64"
    assert find_exec(view, "script", "/bin").machine == "script"
    assert find_exec(view, "/usr/bin/x86", "").machine == "amd64"
    assert find_exec(view, "noexec", "/usr/bin").path is None
    assert find_exec(view, "app", "/sbin").path is None
    assert find_exec(view, "./bin/app", "", "/usr").path == "/opt/app/bin/app"


def test_symlink_loops_and_climbing_stay_inside(tmp_path):
    l1 = layer(tmp_path, "l1.tgz", [kind("a", tarfile.SYMTYPE, "b"), kind("b", tarfile.SYMTYPE, "a"),
                                     kind("up", tarfile.SYMTYPE, "../../../../etc")])
    view = merged([l1])
    assert resolve_path(view, "/a") is None
    assert resolve_path(view, "/up") is None  # /etc does not exist inside the root
