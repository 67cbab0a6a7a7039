"""The copy orchestrator's logic, with in-memory stand-ins for a source and a
sink (pure logic: order, selection, skipping, abort).  The real ends are
tested against registries, layouts and archives elsewhere."""

from contextlib import contextmanager
from pathlib import Path

import pytest

from archport.copy import PlatformMissing, copy_image
from archport.errors import BadInput, DigestMismatch
from archport.oci import Descriptor, Index, parse_manifest
from archport.oci.digest import Verifier
from archport.platform import Platform
from standins import images as im


class MemSource:
    name = "mem"

    def __init__(self, top, images, corrupt=None):
        self.blobs = {}
        for img in images:
            for b in [img.manifest, *img.blobs()]:
                self.blobs[b.digest] = b.data
        self.blobs[top.digest] = top.data
        self.top = top
        self.corrupt = corrupt

    def resolve(self):
        return parse_manifest(self.top.data)

    def manifest(self, desc):
        return parse_manifest(self.blobs[str(desc.digest)], desc.media_type)

    @contextmanager
    def open_blob(self, desc):
        data = self.blobs[str(desc.digest)]
        if self.corrupt == str(desc.digest):
            data = data[:-1] + b"!"

        def gen():
            v = Verifier(desc.digest, desc.size)
            for i in range(0, len(data), 7):
                v.update(data[i:i + 7])
                yield data[i:i + 7]
            v.check()
        yield gen()


class MemSink:
    name = "memsink"
    single_platform = False

    def __init__(self, present=()):
        self.log = []
        self.blobs = {d: b"" for d in present}
        self.manifests = {}
        self.tags = {}
        self.committed = self.aborted = False

    def has_blob(self, desc):
        return str(desc.digest) in self.blobs

    def put_blob(self, desc, opener):
        if self.has_blob(desc):
            return "exists"
        with opener() as chunks:
            data = b"".join(chunks)
        self.blobs[str(desc.digest)] = data
        self.log.append(("blob", str(desc.digest)))
        return "uploaded"

    def has_manifest(self, desc):
        return str(desc.digest) in self.manifests

    def holds(self, desc):
        m = self.manifests.get(str(desc.digest))
        if m is None:
            return False
        if isinstance(m, Index):
            return all(self.holds(d) for d in m.manifests)
        return all(self.has_blob(b) for b in m.blobs())

    def current(self, name):
        d = self.tags.get(name)
        return None if d is None else Descriptor("x", self.manifests[d].digest, 0)

    def put_manifest(self, m):
        self.manifests[str(m.digest)] = m
        self.log.append(("manifest", str(m.digest)))

    def tag(self, m, name):
        self.tags[name] = str(m.digest)
        self.log.append(("tag", name))

    def commit(self):
        self.committed = True

    def abort(self):
        self.aborted = True


@pytest.fixture
def image(tmp_path: Path):
    return im.multiarch(tmp_path, "pause")


def test_all_platforms_byte_for_byte_in_order(image):
    top, imgs = image
    sink = MemSink()
    r = copy_image(MemSource(top, imgs), sink, name="3.6")
    assert r.digest == top.digest and not r.new_index
    assert sink.manifests[top.digest].raw == top.data  # index verbatim
    kinds = [k for k, _ in sink.log]
    # every blob before any manifest; index after its children; tag last
    assert kinds == ["blob"] * 9 + ["manifest"] * 4 + ["tag"]
    assert sink.log[-2] == ("manifest", top.digest)
    assert sink.committed and not sink.aborted


def test_second_copy_is_a_no_op(image):
    top, imgs = image
    sink = MemSink()
    copy_image(MemSource(top, imgs), sink, name="3.6")
    before = list(sink.log)
    r = copy_image(MemSource(top, imgs), sink, name="3.6")
    assert r.unchanged and sink.log == before


def test_existing_blobs_are_skipped(image):
    top, imgs = image
    present = [b.digest for b in imgs[0].blobs()]
    sink = MemSink(present)
    r = copy_image(MemSource(top, imgs), sink, name="t")
    assert r.blobs == {"exists": 3, "uploaded": 6}


def test_platform_selection_builds_new_index(image):
    top, imgs = image
    sink = MemSink()
    r = copy_image(MemSource(top, imgs), sink, name="t", platforms=[Platform("linux", "arm64")])
    assert r.new_index and r.digest != top.digest and r.platforms == ("linux/arm64",)
    idx = sink.manifests[r.digest]
    assert isinstance(idx, Index) and [str(d.digest) for d in idx.manifests] == [imgs[1].manifest.digest]


def test_keep_index_sends_only_selected_children(image):
    top, imgs = image
    sink = MemSink()
    r = copy_image(MemSource(top, imgs), sink, name="t", platforms=[Platform("linux", "arm", "v7")], keep_index=True)
    assert r.digest == top.digest and not r.new_index
    assert set(sink.blobs) == {b.digest for b in imgs[2].blobs()}


def test_missing_platform(image):
    top, imgs = image
    with pytest.raises(PlatformMissing, match="no linux/riscv64 variant; it offers linux/amd64, linux/arm64, linux/arm/v7"):
        copy_image(MemSource(top, imgs), MemSink(), platforms=[Platform("linux", "riscv64")])


def test_single_platform_sink_needs_a_choice(image):
    top, imgs = image
    sink = MemSink()
    sink.single_platform = True
    with pytest.raises(BadInput, match="pass --platform"):
        copy_image(MemSource(top, imgs), sink)
    r = copy_image(MemSource(top, imgs), sink, name="x", platforms=[Platform("linux", "amd64")])
    assert r.digest == imgs[0].manifest.digest


def test_corrupt_blob_aborts_and_tags_nothing(image):
    top, imgs = image
    sink = MemSink()
    with pytest.raises(DigestMismatch):
        copy_image(MemSource(top, imgs, corrupt=imgs[1].layers[0].digest), sink, name="t")
    assert sink.aborted and not sink.committed and not sink.tags
    assert imgs[1].layers[0].digest not in sink.blobs


# -- a real layout as the destination ------------------------------------------------
def _damage(path: Path) -> None:
    """Flip one byte: same size, so only hashing can tell."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.chmod(0o644)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("what", ["layer", "config", "manifest"])
def test_a_recopy_into_a_layout_checks_the_blobs_it_relies_on(tmp_path, what):
    """A same-size damaged file in the destination layout is not "nothing to
    copy": the re-copy hashes what it would rely on and writes it again."""
    from archport.copy import copy_image as copy
    from archport.layout import LayoutSink, LayoutSource
    from archport.oci.digest import Digest
    img = im.make_image("linux/riscv64", [im.layer_from_files({"f": b"payload " * 5000})])
    src_dir = im.write_layout(tmp_path / "src", {"x": (img.manifest, [img])})
    dst = tmp_path / "dst"
    copy(LayoutSource(str(src_dir), "x"), LayoutSink(dst, "x"))
    blob = {"layer": img.layers[0], "config": img.config, "manifest": img.manifest}[what]
    stored = dst / "blobs" / "sha256" / blob.digest.split(":")[1]
    _damage(stored)
    again = copy(LayoutSource(str(src_dir), "x"), LayoutSink(dst, "x"))
    assert not again.unchanged
    assert str(Digest.of(stored.read_bytes())) == blob.digest       # repaired
    third = copy(LayoutSource(str(src_dir), "x"), LayoutSink(dst, "x"))
    assert third.unchanged
