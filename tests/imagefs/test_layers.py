"""The merged view: whiteouts judged like names, bounded inflation."""

from __future__ import annotations

import zstandard

import pytest

from archport.imagefs import RootFS, TooLarge, apply_layer, inflate
from tests.imagefs.helpers import f, layer


def test_whiteout_of_dotdot_is_refused_with_the_reason(tmp_path):
    fs = RootFS(spool=False)
    apply_layer(fs, 0, [layer(tmp_path, "l1.tgz", [f("a/keep"), f("b")]).read_bytes()], "layer 1")
    _, notices = apply_layer(fs, 1, [layer(tmp_path, "l2.tgz", [f("a/.wh..."), f(".wh...")]).read_bytes()], "layer 2")
    assert fs.lookup("/a/keep") is not None and fs.lookup("/b") is not None
    assert [n.code for n in notices] == ["hostile-entry", "hostile-entry"]
    assert all("whiteout" in n.message and n.severity == "error" for n in notices)


def test_a_zstd_bomb_inflates_in_bounded_blocks():
    # 256 MiB of zeros in a few KB: one input chunk, never one output chunk.
    bomb = zstandard.ZstdCompressor(level=3).compress(b"\0" * (256 << 20))
    assert len(bomb) < 16384
    sizes = [len(b) for b in inflate([bomb])]
    assert sum(sizes) == 256 << 20 and max(sizes) <= 1 << 20
    with pytest.raises(TooLarge, match="more than 16 MiB"):
        for _ in inflate([bomb], limit=16 << 20):
            pass


def test_gzip_members_zero_padding_and_cut_off(tmp_path):
    import gzip
    data = gzip.compress(b"x" * 3_000_000) + b"\0\0\0" + gzip.compress(b"y")
    assert b"".join(inflate([data[:10], data[10:]])) == b"x" * 3_000_000 + b"y"
    with pytest.raises(EOFError):
        b"".join(inflate([data[:-30]]))
