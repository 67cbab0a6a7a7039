"""agent/images file kinds as k3s v1.24.2 preloadImages picks them."""

import pytest

from testbed.k3s import airgap


@pytest.mark.parametrize("name,kind", [
    ("a.tar", "tar"), ("a.TAR", "tar"), ("a.tar.gz", "gzip"), ("a.tgz", "gzip"), ("a.tar.zst", "zstd"),
    ("a.tzst", "zstd"), ("a.tar.bz2", "bzip2"), ("a.tbz", "bzip2"), ("a.tar.lz4", "lz4"), ("list.txt", "list"),
    ("a.gz", None), ("a.zip", None), ("a.tar.xz", None), ("README", None),
])
def test_kinds(name, kind):
    assert airgap.kind(name) == kind


def test_select_orders_by_name_and_lists_skipped():
    chosen, skipped = airgap.select(["b.tar.gz", "a.tar", "notes.md"])
    assert [(e.name, e.kind) for e in chosen] == [("a.tar", "tar"), ("b.tar.gz", "gzip")]
    assert skipped == ["notes.md"]


def test_zstd_window_is_k3s_32_mib():
    assert "--memory=32MB" in airgap.DECOMPRESS["zstd"]
