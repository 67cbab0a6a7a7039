"""Opening a location: the right Source or Sink for each transport, with what
the copier asks of a sink."""

from __future__ import annotations

import pytest

from archport import reference
from archport.airgap import AirgapSink
from archport.archive import DockerArchiveSink, DockerArchiveSource, OciArchiveSink, OciArchiveSource
from archport.errors import ArchportError
from archport.images import Pinned, open_sink, open_source, reference_of
from archport.layout import LayoutSink, LayoutSource
from archport.location import LayoutLocation
from archport.registry.store import RegistrySink, RegistrySource
from archport.store import Sink, Source
from standins import images as I


class FakeClient:
    """Stands in for the registry client: opening never talks to the network."""


@pytest.fixture
def files(tmp_path):
    top, imgs = I.multiarch(tmp_path, "pause", platforms=("linux/amd64",))
    lay = I.write_layout(tmp_path / "lay", {"3.6": (top, imgs)})
    I.skopeo.skopeo("copy", f"oci:{lay}:3.6", f"oci-archive:{tmp_path / 'a.tar'}:3.6")
    I.skopeo.skopeo("copy", f"oci:{lay}:3.6", f"docker-archive:{tmp_path / 'd.tar'}:rancher/pause:3.6")
    return tmp_path, lay


def test_each_transport_opens_its_source(files):
    tmp, lay = files
    client = FakeClient()
    cases = {
        "rancher/mirrored-pause:3.6": RegistrySource,
        f"oci:{lay}:3.6": LayoutSource,
        f"oci-archive:{tmp / 'a.tar'}": OciArchiveSource,
        f"docker-archive:{tmp / 'd.tar'}": DockerArchiveSource,
    }
    for text, kind in cases.items():
        src = open_source(text, client)
        assert isinstance(src, kind) and isinstance(src, Source), text
    # parsed values are accepted as well as text
    assert isinstance(open_source(reference.parse("rancher/mirrored-pause:3.6"), client), RegistrySource)
    assert isinstance(open_source(LayoutLocation(str(lay), "3.6")), LayoutSource)


def test_each_transport_opens_its_sink_with_what_the_copier_asks(tmp_path):
    client = FakeClient()
    cases = {
        "reg.example:5000/x/pause:3.6": RegistrySink,
        f"oci:{tmp_path / 'out'}:3.6": LayoutSink,
        f"oci-archive:{tmp_path / 'a.tar'}": OciArchiveSink,
        f"docker-archive:{tmp_path / 'd.tar'}": DockerArchiveSink,
    }
    for text, kind in cases.items():
        sink = open_sink(text, client)
        assert isinstance(sink, kind) and isinstance(sink, Sink), text
        assert sink.single_platform == (kind is DockerArchiveSink)
        sink.abort()
    airgap = AirgapSink(tmp_path / "air.tar")
    assert isinstance(airgap, Sink) and airgap.single_platform is False
    airgap.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == []          # no staging left behind


def test_a_registry_sink_mounts_from_another_repository_of_the_same_registry(tmp_path):
    client = FakeClient()
    same = open_sink("reg.example:5000/b/pause:1", client, source="reg.example:5000/a/pause:1")
    assert same.mount_from == reference.parse("reg.example:5000/a/pause:1")
    assert open_sink("reg.example:5000/a/pause:2", client, source="reg.example:5000/a/pause:1").mount_from is None
    assert open_sink("reg.example:5000/b/pause:1", client, source="other.example/a/pause:1").mount_from is None
    assert open_sink("reg.example:5000/b/pause:1", client, source=f"oci:{tmp_path}").mount_from is None


def test_a_docker_archive_takes_the_source_name(tmp_path):
    sink = open_sink(f"docker-archive:{tmp_path / 'd.tar'}", None, source="rancher/mirrored-pause:3.6")
    assert sink.default_name == "docker.io/rancher/mirrored-pause:3.6"
    sink.abort()


def test_a_registry_needs_a_client():
    with pytest.raises(ArchportError, match="needs a registry client"):
        open_source("rancher/mirrored-pause:3.6")


def test_reference_of_and_pinned(files):
    _, lay = files
    assert str(reference_of("rancher/mirrored-pause:3.6")) == "docker.io/rancher/mirrored-pause:3.6"
    assert reference_of(f"oci:{lay}") is None
    src = LayoutSource(lay, "3.6")
    child = src.manifest(src.resolve().manifests[0])
    pinned = Pinned(src, child)
    assert isinstance(pinned, Source) and pinned.resolve() is child and pinned.name == src.name
