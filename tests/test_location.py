import pytest

from archport import location as loc
from archport.errors import BadInput, UnknownTransport


def test_registry_forms():
    assert str(loc.parse("rancher/mirrored-pause:3.6").ref) == "docker.io/rancher/mirrored-pause:3.6"
    assert str(loc.parse("docker://busybox").ref) == "docker.io/library/busybox"
    assert loc.parse("localhost:5000/a:b").ref.domain == "localhost:5000"


def test_layouts_and_archives():
    assert loc.parse("oci:/tmp/x:3.6") == loc.LayoutLocation("/tmp/x", "3.6")
    assert loc.parse("oci:rel/dir") == loc.LayoutLocation("rel/dir", None)
    assert loc.parse("oci-archive:/tmp/a.tar") == loc.ArchiveLocation("oci-archive", "/tmp/a.tar", None)
    a = loc.parse("docker-archive:/tmp/a.tar:rancher/mirrored-pause:3.6")
    assert a == loc.ArchiveLocation("docker-archive", "/tmp/a.tar", "docker.io/rancher/mirrored-pause:3.6")


@pytest.mark.parametrize("text", ["foo:/bar", "dir:/tmp/x", "containers-storage:x", "s3://bucket/x", "sif:./a"])
def test_unknown_transport(text):
    with pytest.raises(UnknownTransport):
        loc.parse(text)


@pytest.mark.parametrize("text", ["", "oci:", "oci::tag", "Bad Ref"])
def test_bad(text):
    with pytest.raises(BadInput):
        loc.parse(text)
