"""Safe, bounded extraction: hostile entries, whiteouts, caps, deep trees."""

from __future__ import annotations

import os
import tarfile

from archport.imagefs import extract
from tests.imagefs.helpers import f, kind, layer


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
    findings = extract([l1], root)
    assert not (tmp_path / "escape").exists() and not list(outside.iterdir())
    assert (root / "ok/file").read_bytes() == b"good"
    assert os.stat(root / "ok/file").st_mode & 0o7777 == 0o755  # set-id dropped
    assert not (root / "dev").exists() and not (root / "fifo").exists() and not (root / "hard").exists()
    assert len(findings) == 6, findings


def test_whiteouts_and_opaque_dirs(tmp_path):
    l1 = layer(tmp_path, "l1.tgz", [f("a/keep"), f("a/gone"), f("b/old1"), f("b/old2")])
    l2 = layer(tmp_path, "l2.tgz", [f("a/.wh.gone"), f("b/.wh..wh..opq"), f("b/new")])
    root = tmp_path / "root"
    extract([l1, l2], root)
    assert sorted(os.listdir(root / "a")) == ["keep"]
    assert sorted(os.listdir(root / "b")) == ["new"]


# -- whiteouts get the same path checks as file names -------------------------

def test_whiteout_of_dotdot_never_deletes_outside(tmp_path):
    (tmp_path / "sentinel").write_text("keep")
    root = tmp_path / "root"
    l1 = layer(tmp_path, "l1.tgz", [f("sub/file"), f("top")])
    l2 = layer(tmp_path, "l2.tgz", [f(".wh..."), f("sub/.wh..."), f("sub/.wh.."), f("./.wh.")])
    findings = extract([l1, l2], root)
    assert (tmp_path / "sentinel").read_text() == "keep"
    assert (root / "sub/file").exists() and (root / "top").exists()
    assert len([x for x in findings if "whiteout" in x]) == 4, findings


# -- caps: what a layer may expand to, what extraction may write --------------

def test_extraction_is_capped(tmp_path):
    import pytest
    from archport.imagefs import TooLarge
    big = layer(tmp_path, "big.tgz", [f("a", b"\0" * (3 << 20)), f("b", b"\0" * (3 << 20))])
    with pytest.raises(TooLarge, match="more than 4 MiB"):
        extract([big], tmp_path / "r1", max_size=4 << 20)
    # each layer is small, together they write too much
    l1 = layer(tmp_path, "l1.tgz", [f("a", b"\0" * (3 << 20))])
    l2 = layer(tmp_path, "l2.tgz", [f("b", b"\0" * (3 << 20))])
    with pytest.raises(TooLarge, match="layer 2: extraction would write more than 5 MiB"):
        extract([l1, l2], tmp_path / "r2", max_size=5 << 20)
    assert extract([l1, l2], tmp_path / "r3", max_size=7 << 20) == []


# -- depth: no recursion anywhere, nothing left behind ------------------------

def test_a_3000_deep_path_neither_recurses_nor_stays_behind(tmp_path):
    from archport.imagefs import remove_tree
    deep = "/".join(["d"] * 3000)
    l1 = layer(tmp_path, "deep.tgz", [f(deep + "/file"), f("ok")])
    root = tmp_path / "root"
    findings = extract([l1], root)
    assert (root / "ok").exists()
    assert any("name too long" in x.lower() for x in findings), findings
    # a tree deeper than the interpreter's recursion limit, built with fds
    fd = os.open(root, os.O_RDONLY)
    for _ in range(3000):
        os.mkdir("e", dir_fd=fd)
        nfd = os.open("e", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    os.close(fd)
    remove_tree(root)
    assert not root.exists()
