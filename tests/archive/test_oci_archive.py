"""oci-archive source and sink, validated with skopeo."""

from __future__ import annotations

import gzip
import tarfile

import pytest
import zstandard

from archport.archive import OciArchiveSink, OciArchiveSource
from archport.archive.tarfiles import ExtractedTar, SeekableTar
from archport.errors import BadInput, DigestMismatch
from archport.layout import LayoutSink, LayoutSource
from archport.oci import Descriptor, Index
from archport.store import Sink, Source
from tests.layout.plaincopy import plain_copy, raw, skopeo
from standins import images as I


@pytest.fixture
def upstream(tmp_path):
    top, imgs = I.multiarch(tmp_path, "coredns", platforms=("linux/amd64", "linux/arm64", "linux/riscv64"))
    return I.write_layout(tmp_path / "up", {"1.9.1": (top, imgs)}), top, imgs


def test_sink_written_archive_reads_back_in_skopeo(upstream, tmp_path):
    root, top, imgs = upstream
    out = tmp_path / "img.tar"
    sink = OciArchiveSink(out, "1.9.1")
    assert isinstance(sink, Sink)
    plain_copy(LayoutSource(root, "1.9.1"), sink)
    assert raw(f"oci-archive:{out}:1.9.1") == top.data
    skopeo("copy", "--all", "--preserve-digests", f"oci-archive:{out}:1.9.1", f"oci:{tmp_path / 'back'}:x")
    assert raw(f"oci:{tmp_path / 'back'}:x") == top.data
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".img.tar") or p.name.endswith(".tmp")]


def test_source_reads_uncompressed_tar_in_place(upstream, tmp_path):
    root, top, imgs = upstream
    out = tmp_path / "by-skopeo.tar"
    skopeo("copy", "--all", "--preserve-digests", f"oci:{root}:1.9.1", f"oci-archive:{out}:1.9.1")
    src = OciArchiveSource(out, "1.9.1")
    assert isinstance(src, Source) and isinstance(src.files, SeekableTar)
    got = src.resolve()
    assert isinstance(got, Index) and got.raw == top.data
    plain_copy(src, LayoutSink(tmp_path / "dst", "t"))
    assert raw(f"oci:{tmp_path / 'dst'}:t") == top.data


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_source_reads_compressed_tar_by_magic(upstream, tmp_path, kind):
    root, top, imgs = upstream
    plain = tmp_path / "plain.tar"
    skopeo("copy", "--all", "--preserve-digests", f"oci:{root}:1.9.1", f"oci-archive:{plain}:1.9.1")
    data = plain.read_bytes()
    packed = tmp_path / "no-suffix-hint.bin"  # the name says nothing: magic bytes decide
    packed.write_bytes(gzip.compress(data) if kind == "gzip" else zstandard.ZstdCompressor().compress(data))
    src = OciArchiveSource(packed, "1.9.1")
    assert isinstance(src.files, ExtractedTar)
    plain_copy(src, LayoutSink(tmp_path / "dst", "t"))
    assert raw(f"oci:{tmp_path / 'dst'}:t") == top.data
    tmp = src.files.root
    src.close()
    assert not tmp.exists()


def test_tampered_member_detected(upstream, tmp_path):
    root, top, imgs = upstream
    layer = imgs[2].layers[1]
    p = root / "blobs/sha256" / layer.digest[7:]
    data = bytearray(p.read_bytes())
    data[20] ^= 0x55
    p.write_bytes(bytes(data))
    tar = tmp_path / "bad.tar"
    with tarfile.open(tar, "w") as t:
        t.add(root, arcname=".")
    out = tmp_path / "out.tar"
    with pytest.raises(DigestMismatch):
        plain_copy(OciArchiveSource(tar, "1.9.1"), OciArchiveSink(out, "1.9.1"))
    assert not out.exists() and not (tmp_path / "out.tar.tmp").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tar")]


def test_abort_keeps_existing_archive(upstream, tmp_path):
    root, top, imgs = upstream
    out = tmp_path / "img.tar"
    out.write_bytes(b"previous contents")
    sink = OciArchiveSink(out, "1.9.1")
    src = LayoutSource(root, "1.9.1")
    for b in imgs[0].blobs():
        d = Descriptor.from_dict(b.descriptor())
        sink.put_blob(d, lambda d=d: src.open_blob(d))
    sink.abort()
    assert out.read_bytes() == b"previous contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.tar", "up"]


def test_bad_inputs(tmp_path):
    with pytest.raises(BadInput, match="no such archive"):
        OciArchiveSource(tmp_path / "missing.tar")
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\x00" * 10 + b"not a tar" * 100)
    with pytest.raises(BadInput):
        OciArchiveSource(junk)
    empty = tmp_path / "empty.tar"
    with tarfile.open(empty, "w"):
        pass
    with pytest.raises(BadInput, match="not an OCI archive"):
        OciArchiveSource(empty)
