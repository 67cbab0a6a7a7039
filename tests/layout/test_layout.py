"""OCI layout source and sink, validated with skopeo."""

from __future__ import annotations

import json
import subprocess
import tracemalloc
from contextlib import contextmanager

import pytest

from archport.errors import ArchportError, BadInput, DigestMismatch
from archport.layout import LayoutSink, LayoutSource
from archport.oci import Descriptor, Index, Manifest
from archport.platform import RISCV64, Platform
from archport.store import Sink, Source
from standins import images as I

from .plaincopy import index_json, plain_copy, raw, skopeo


@pytest.fixture
def upstream(tmp_path):
    top, imgs = I.multiarch(tmp_path, "pause", platforms=("linux/amd64", "linux/arm64", "linux/riscv64"))
    single = I.make_image("linux/riscv64", [I.layer_from_files({"pause": b"\x7fELF"})])
    root = I.write_layout(tmp_path / "up", {"3.6": (top, imgs), "single": (single.manifest, [single])})
    return root, top, imgs, single


def test_protocols(tmp_path):
    assert isinstance(LayoutSource(tmp_path), Source)
    assert isinstance(LayoutSink(tmp_path / "x"), Sink)


def test_copy_preserves_bytes_and_skopeo_reads_it(upstream, tmp_path):
    root, top, imgs, _ = upstream
    src = LayoutSource(root, "3.6")
    got = src.resolve()
    assert isinstance(got, Index) and got.raw == top.data and str(got.digest) == top.digest
    dst = tmp_path / "dst"
    plain_copy(src, LayoutSink(dst, "v1"))
    assert raw(f"oci:{dst}:v1") == top.data
    # skopeo copies every platform out of our layout and keeps the digests
    skopeo("copy", "--all", "--preserve-digests", f"oci:{dst}:v1", f"oci:{tmp_path / 'again'}:v1")
    assert raw(f"oci:{tmp_path / 'again'}:v1") == top.data
    for img in imgs:
        assert (tmp_path / "again" / "blobs/sha256" / img.manifest.digest[7:]).read_bytes() == img.manifest.data
    # and our source reads skopeo's layout
    again = LayoutSource(tmp_path / "again", "v1")
    assert again.resolve().digest == got.digest


def test_single_manifest_and_no_tag(upstream, tmp_path):
    root, _, _, single = upstream
    m = LayoutSource(root, "single").resolve()
    assert isinstance(m, Manifest) and m.raw == single.manifest.data
    dst = tmp_path / "one"
    plain_copy(LayoutSource(root, "single"), LayoutSink(dst), "latest")
    assert LayoutSource(dst).resolve().raw == single.manifest.data  # the only entry
    assert raw(f"oci:{dst}:latest") == single.manifest.data


def test_tag_selection_errors(upstream):
    root, *_ = upstream
    with pytest.raises(BadInput, match=r"holds 2 images; name one with :TAG \(tags: 3.6, single\)"):
        LayoutSource(root).resolve()
    with pytest.raises(BadInput, match=r"no image tagged 'nope' \(tags: 3.6, single\)"):
        LayoutSource(root, "nope").resolve()
    with pytest.raises(BadInput, match="not an OCI image layout"):
        LayoutSource(root / "blobs").resolve()


def test_commit_replaces_same_tag_and_keeps_others_verbatim(upstream, tmp_path):
    root, top, _, single = upstream
    dst = tmp_path / "dst"
    dst.mkdir()
    foreign = {"mediaType": I.OCI_MANIFEST, "digest": single.manifest.digest, "size": single.manifest.size,
               "annotations": {"org.opencontainers.image.ref.name": "keep"}, "x-unknown": [1, 2]}
    (dst / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [foreign]}))
    plain_copy(LayoutSource(root, "single"), LayoutSink(dst, "v1"))
    plain_copy(LayoutSource(root, "3.6"), LayoutSink(dst, "v1"))  # retag v1
    entries = index_json(dst)["manifests"]
    assert entries[0] == foreign
    assert [e["annotations"]["org.opencontainers.image.ref.name"] for e in entries] == ["keep", "v1"]
    assert entries[1]["digest"] == top.digest
    assert (dst / "oci-layout").exists()


def test_select_platform_builds_new_index(upstream, tmp_path):
    root, top, imgs, _ = upstream
    dst = tmp_path / "rv"
    new = plain_copy(LayoutSource(root, "3.6"), LayoutSink(dst, "rv"), platforms=[RISCV64])
    assert new.digest != LayoutSource(root, "3.6").resolve().digest  # a new index, authored here
    assert [d.platform for d in LayoutSource(dst, "rv").resolve().manifests] == [Platform("linux", "riscv64")]
    skopeo("copy", "--all", f"oci:{dst}:rv", f"oci:{tmp_path / 'rv2'}:rv")


@contextmanager
def _bytes(data: bytes):
    yield iter([data[:10], data[10:]])


def test_wrong_bytes_refused_nothing_tagged(upstream, tmp_path):
    root, top, imgs, _ = upstream
    dst = tmp_path / "dst"
    sink = LayoutSink(dst, "v1")
    layer = Descriptor.from_dict(imgs[0].layers[0].descriptor())
    with pytest.raises(DigestMismatch):
        sink.put_blob(layer, lambda: _bytes(b"not the layer at all, sorry"))
    blobs = dst / "blobs" / "sha256"
    assert list(blobs.iterdir()) == []  # neither the blob nor a temporary file
    m = LayoutSource(root, "3.6").manifest(Descriptor.from_dict(imgs[0].manifest.descriptor()))
    sink.put_manifest(m)
    with pytest.raises(ArchportError, match="blob\\(s\\) missing"):
        sink.tag(m, None)
    sink.abort()
    assert not dst.exists()  # a layout we created and never committed vanishes


def test_corrupt_source_blob_detected(upstream, tmp_path):
    root, top, imgs, _ = upstream
    layer = imgs[1].layers[0]
    path = root / "blobs/sha256" / layer.digest[7:]
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "index.json").write_text('{"schemaVersion":2,"manifests":[]}')
    before = (dst / "index.json").read_bytes()
    with pytest.raises(DigestMismatch):
        plain_copy(LayoutSource(root, "3.6"), LayoutSink(dst, "v1"))
    assert (dst / "index.json").read_bytes() == before
    assert not (dst / "blobs/sha256" / layer.digest[7:]).exists()
    assert not [p for p in (dst / "blobs/sha256").iterdir() if p.name.startswith(".")]


def test_corrupt_manifest_detected(upstream):
    root, top, imgs, _ = upstream
    (root / "blobs/sha256" / top.digest[7:]).write_bytes(top.data + b" ")
    with pytest.raises(DigestMismatch):
        LayoutSource(root, "3.6").resolve()


def test_abort_keeps_existing_layout(upstream, tmp_path):
    root, *_ = upstream
    before = (root / "index.json").read_bytes()
    sink = LayoutSink(root, "new")
    src = LayoutSource(root, "single")
    m = src.resolve()
    for b in m.blobs():
        sink.put_blob(b, lambda b=b: src.open_blob(b))
    sink.put_manifest(m)
    sink.tag(m, None)
    sink.abort()
    assert (root / "index.json").read_bytes() == before
    assert LayoutSource(root, "single").resolve().digest == m.digest


def test_streaming_memory_does_not_grow_with_blob_size(tmp_path):
    big = I.big_layer(tmp_path / "big", 48 << 20)
    img = I.make_image("linux/riscv64", [big])
    root = I.write_layout(tmp_path / "up", {"big": (img.manifest, [img])})
    src, sink = LayoutSource(root, "big"), LayoutSink(tmp_path / "dst", "big")
    tracemalloc.start()
    try:
        plain_copy(src, sink)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak  # a few 1 MiB chunks, whatever the blob size
    assert subprocess.run(["cmp", str(big.path), str(tmp_path / "dst/blobs/sha256" / big.digest[7:])]).returncode == 0
