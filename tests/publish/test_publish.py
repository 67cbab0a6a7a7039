"""``archport.publish`` on its own: appending a platform to an index in any
sink (``append_platform``) and in a registry tag (``index_add``)."""

from __future__ import annotations

import pytest

from archport import reference
from archport.copy import PlatformMissing
from archport.errors import BadInput
from archport.layout import LayoutSink, LayoutSource
from archport.oci import Index
from archport.oci.edit import PlatformPresent
from archport.platform import AMD64, RISCV64
from archport.publish import Sourced, TagExists, append_platform, index_add
from standins import images as I


@pytest.fixture
def upstream(tmp_path):
    top, imgs = I.multiarch(tmp_path, "pause", platforms=("linux/amd64", "linux/arm64"))
    rv = I.make_image("linux/riscv64", [I.layer_from_files({"pause": b"riscv64 pause"})])
    amd = I.make_image("linux/amd64", [I.layer_from_files({"pause": b"rebuilt amd64 pause"})])
    root = I.write_layout(tmp_path / "up", {"3.6": (top, imgs), "rv": (rv.manifest, [rv]),
                                            "amd": (amd.manifest, [amd])})
    return root, top, imgs, rv, amd


class Recording:
    """A real layout sink whose calls are logged (what was written, in which order)."""

    def __init__(self, sink: LayoutSink) -> None:
        self.sink, self.log = sink, []

    def __getattr__(self, name):
        return getattr(self.sink, name)

    def put_blob(self, desc, opener):
        status = self.sink.put_blob(desc, opener)
        self.log.append(("blob", str(desc.digest), status))
        return status

    def put_manifest(self, m):
        self.sink.put_manifest(m)
        self.log.append(("manifest", str(m.digest), ""))

    def tag(self, m, name):
        self.sink.tag(m, name)
        self.log.append(("tag", str(m.digest), name))


def test_append_platform_writes_in_the_safe_order_and_keeps_children(upstream, tmp_path):
    root, top, imgs, rv, _ = upstream
    src, child_src = LayoutSource(root, "3.6"), LayoutSource(root, "rv")
    child = child_src.resolve()
    sink = Recording(LayoutSink(tmp_path / "dst"))
    edit = append_platform(sink, "3.6", Sourced(src.resolve(), src), Sourced(child, child_src), RISCV64)
    sink.commit()
    kinds = [k for k, _, _ in sink.log]
    assert kinds == ["blob"] * kinds.count("blob") + ["manifest"] * 4 + ["tag"]
    assert sink.log[-2][1] == str(edit.index.digest) and sink.log[-1][2] == "3.6"   # index, then the tag
    written = {d for _, d, _ in sink.log}
    assert {b.digest for i in [*imgs, rv] for b in i.blobs()} <= written
    got = LayoutSource(tmp_path / "dst", "3.6").resolve()
    assert isinstance(got, Index) and got.digest == edit.index.digest
    assert [str(d.digest) for d in got.manifests] == [i.manifest.digest for i in imgs] + [rv.manifest.digest]
    assert got.find(RISCV64) is not None


def test_append_platform_replace_leaves_the_replaced_image_out(upstream, tmp_path):
    root, top, imgs, _, amd = upstream
    src, child_src = LayoutSource(root, "3.6"), LayoutSource(root, "amd")
    with pytest.raises(PlatformPresent):
        append_platform(LayoutSink(tmp_path / "no"), "x", Sourced(src.resolve(), src),
                        Sourced(child_src.resolve(), child_src), AMD64)
    sink = Recording(LayoutSink(tmp_path / "dst"))
    edit = append_platform(sink, "3.6", Sourced(src.resolve(), src), Sourced(child_src.resolve(), child_src), AMD64,
                           replace=True)
    sink.commit()
    assert [str(d.digest) for d in edit.replaced] == [imgs[0].manifest.digest]
    written = {d for _, d, _ in sink.log}
    assert not {b.digest for b in imgs[0].blobs()} & written and imgs[0].manifest.digest not in written
    assert str(LayoutSource(tmp_path / "dst", "3.6").resolve().find(AMD64).digest) == amd.manifest.digest


@pytest.fixture
def seeded(registry_plain, upstream, request):
    root, top, imgs, rv, _ = upstream
    repo = f"{registry_plain.host}/publish/{request.node.name.replace('_', '-')[:40]}"
    I.push(root, "3.6", f"{repo}:3.6")
    return reference.parse(f"{repo}:3.6"), LayoutSource(root, "rv"), top, imgs, rv


def test_index_add_under_a_new_tag_leaves_the_old_tag(registry_plain, seeded):
    target, child, top, imgs, rv = seeded
    client = registry_plain.client()
    r = index_add(client, target, child, new_tag="3.6-rv")
    assert (r.old_digest, r.tag, r.added, r.platform) == (top.digest, "3.6-rv", rv.manifest.digest, "linux/riscv64")
    assert list(r.kept) == [i.manifest.digest for i in imgs] and r.replaced == ()
    assert str(client.get_manifest(target).digest) == top.digest           # untouched
    new = client.get_manifest(target.with_tag("3.6-rv"))
    assert str(new.digest) == r.new_digest and new.find(RISCV64) is not None
    # the same edit again is idempotent: the new tag already names this index
    assert index_add(client, target, child, new_tag="3.6-rv").new_digest == r.new_digest


def test_index_add_never_moves_a_tag_silently(registry_plain, seeded):
    target, child, top, _, _ = seeded
    client = registry_plain.client()
    with pytest.raises(TagExists, match="--tag NEWTAG"):
        index_add(client, target, child)
    assert str(client.get_manifest(target).digest) == top.digest
    r = index_add(client, target, child, overwrite=True)
    assert str(client.get_manifest(target).digest) == r.new_digest != top.digest


def test_index_add_needs_a_tag_and_the_asked_platform(registry_plain, seeded):
    target, child, _, _, _ = seeded
    client = registry_plain.client()
    with pytest.raises(BadInput, match="needs a tag"):
        index_add(client, target.with_digest("sha256:" + "0" * 64), child)
    with pytest.raises(PlatformMissing, match="no linux/amd64 variant"):
        index_add(client, target, child, platform=AMD64, new_tag="x")
