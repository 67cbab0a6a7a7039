"""docker-archive source and sink, validated with skopeo."""

from __future__ import annotations

import json
import tarfile

import pytest

from archport.archive import DockerArchiveSink, DockerArchiveSource
from archport.archive.docker import DOCKER_LAYER
from archport.errors import BadInput
from archport.layout import LayoutSink, LayoutSource
from archport.oci import Manifest
from archport.oci import mediatypes as mt
from archport.platform import RISCV64
from archport.store import Sink, Source
from tests.layout.plaincopy import plain_copy, raw, skopeo
from standins import images as I

NAME = "rancher/mirrored-pause:3.6"


@pytest.fixture
def upstream(tmp_path):
    top, imgs = I.multiarch(tmp_path, "pause", platforms=("linux/amd64", "linux/riscv64"))
    rv = imgs[1]
    return I.write_layout(tmp_path / "up", {"3.6": (top, imgs), "rv": (rv.manifest, [rv])}), top, imgs


def test_source_reads_docker_save_format_written_by_skopeo(upstream, tmp_path):
    root, top, imgs = upstream
    rv = imgs[1]
    arch = tmp_path / "saved.tar"
    skopeo("copy", f"oci:{root}:rv", f"docker-archive:{arch}:{NAME}")
    src = DockerArchiveSource(arch, "docker.io/rancher/mirrored-pause:3.6")  # any spelling of the name
    assert isinstance(src, Source)
    m = src.resolve()
    assert isinstance(m, Manifest) and m.media_type == mt.DOCKER_MANIFEST
    # the config travels byte for byte; layers as skopeo stored them (plain tars)
    assert str(m.config.digest) == rv.config.digest
    assert {d.media_type for d in m.layers} == {DOCKER_LAYER}
    cfg = json.loads(rv.config.data)
    assert [str(d.digest) for d in m.layers] == cfg["rootfs"]["diff_ids"]
    # the manifest is ours: new digest.  (skopeo 1.9 cannot read a Docker-typed
    # entry out of an oci: layout — it matches OCI media types only — so the
    # copy is checked with our reader and through docker-archive below.)
    assert m.digest != rv.manifest.digest
    plain_copy(src, LayoutSink(tmp_path / "dst", "t"))
    assert LayoutSource(tmp_path / "dst", "t").resolve().raw == m.raw
    plain_copy(LayoutSource(tmp_path / "dst", "t"), DockerArchiveSink(tmp_path / "again.tar", NAME))
    assert json.loads(raw(f"docker-archive:{tmp_path / 'again.tar'}"))["config"]["digest"] == rv.config.digest
    # without a name: the archive's only image
    assert DockerArchiveSource(arch).resolve().digest == m.digest


def test_source_name_errors(upstream, tmp_path):
    root, *_ = upstream
    arch = tmp_path / "saved.tar"
    skopeo("copy", f"oci:{root}:rv", f"docker-archive:{arch}:{NAME}")
    with pytest.raises(BadInput, match=r"no image named 'other:1' \(tags: docker.io/rancher/mirrored-pause:3.6\)"):
        DockerArchiveSource(arch, "other:1")
    with pytest.raises(BadInput, match="not a docker-archive"):
        bad = tmp_path / "oci.tar"
        skopeo("copy", f"oci:{root}:rv", f"oci-archive:{bad}:rv")
        DockerArchiveSource(bad)


def test_sink_is_read_by_skopeo(upstream, tmp_path):
    root, top, imgs = upstream
    rv = imgs[1]
    out = tmp_path / "out.tar"
    sink = DockerArchiveSink(out, NAME)
    assert isinstance(sink, Sink)
    plain_copy(LayoutSource(root, "rv"), sink)
    with tarfile.open(out) as t:
        entries = json.load(t.extractfile("manifest.json"))
    assert entries == [{"Config": f"blobs/sha256/{rv.config.digest[7:]}", "RepoTags": [NAME],
                        "Layers": [f"blobs/sha256/{b.digest[7:]}" for b in rv.layers]}]
    got = json.loads(raw(f"docker-archive:{out}"))
    assert got["config"]["digest"] == rv.config.digest
    skopeo("copy", f"docker-archive:{out}:{NAME}", f"oci:{tmp_path / 'back'}:t")
    back = LayoutSource(tmp_path / "back", "t").resolve()
    assert len(back.layers) == len(rv.layers)  # skopeo recompresses: digests differ, count does not
    # and our own source reads it back
    assert str(DockerArchiveSource(out, NAME).resolve().config.digest) == rv.config.digest


def test_sink_refuses_an_index(upstream, tmp_path):
    root, *_ = upstream
    out = tmp_path / "out.tar"
    with pytest.raises(BadInput) as e:
        plain_copy(LayoutSource(root, "3.6"), DockerArchiveSink(out, NAME))
    assert str(e.value) == "docker-archive holds one platform per image; pass --platform"
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["up"]
    # one platform selected: fine
    src = LayoutSource(root, "3.6")
    idx = src.resolve()
    child = src.manifest(idx.find(RISCV64))
    plain_copy(src, DockerArchiveSink(out, NAME), top=child)
    assert json.loads(raw(f"docker-archive:{out}"))["config"]["digest"] == str(child.config.digest)
