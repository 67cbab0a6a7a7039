"""Reference parsing and normalization, cases after docker/containerd behaviour
(distribution/reference normalize.go: ParseNormalizedNamed, splitDockerDomain)."""

import pytest

from archport import reference
from archport.errors import BadReference

D = "sha256:" + "ab" * 32


@pytest.mark.parametrize("text,normalized", [
    ("rancher/mirrored-pause:3.6", "docker.io/rancher/mirrored-pause:3.6"),  # k3s issue 7015
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/library/busybox", "docker.io/library/busybox:latest"),
    ("docker://rancher/klipper-lb:v0.3.5", "docker.io/rancher/klipper-lb:v0.3.5"),
    ("localhost/foo", "localhost/foo:latest"),
    ("localhost:5000/foo/bar:v1", "localhost:5000/foo/bar:v1"),
    ("192.168.1.10:6000/rancher/mirrored-coredns-coredns:1.9.1",
     "192.168.1.10:6000/rancher/mirrored-coredns-coredns:1.9.1"),
    ("registry.example.com/a/b/c", "registry.example.com/a/b/c:latest"),
    ("[::1]:5000/foo:bar", "[::1]:5000/foo:bar"),
    (f"busybox@{D}", f"docker.io/library/busybox@{D}"),
    (f"busybox:1.36@{D}", f"docker.io/library/busybox:1.36@{D}"),
    ("foo_bar/baz__qux-x.y", "docker.io/foo_bar/baz__qux-x.y:latest"),
    ("Example.com/foo", "Example.com/foo:latest"),  # upper case first component is a domain
])
def test_normalize(text, normalized):
    assert reference.normalize(text) == normalized


@pytest.mark.parametrize("text", [
    "", "upper/Case", "Busybox", "busybox:", ":tag", "a/b:t@sha256:123", "busybox@sha256:" + "AB" * 32,
    "foo//bar", "-foo/bar", "foo/bar-", "has space:1", "busybox:" + "x" * 129,
    "a/" + "b" * 260, "foo/bar:tag:more", "http://foo/bar",
])
def test_invalid(text):
    with pytest.raises(BadReference):
        reference.parse(text)


def test_parts_and_familiar():
    r = reference.parse("rancher/mirrored-pause:3.6")
    assert (r.domain, r.path, r.tag, r.digest) == ("docker.io", "rancher/mirrored-pause", "3.6", None)
    assert r.repository == "docker.io/rancher/mirrored-pause"
    assert r.familiar() == "rancher/mirrored-pause:3.6"
    assert reference.parse("busybox").familiar() == "busybox"
    assert reference.parse("localhost:5000/x:1").familiar() == "localhost:5000/x:1"
    assert r.identifier == "3.6"
    assert reference.parse(f"busybox:1@{D}").identifier == D
    assert r.with_domain("127.0.0.1:5000", "mirror").normalized() == "127.0.0.1:5000/mirror/rancher/mirrored-pause:3.6"


@pytest.mark.parametrize("host,loop", [
    ("localhost:5000", True), ("127.0.0.1:5000", True), ("127.1.2.3", True), ("[::1]:5000", True),
    ("192.168.1.10:6000", False), ("docker.io", False), ("localhost.example.com", False),
    ("127.evil.example", False), ("127.evil.example:5000", False), ("127.0.0.1.nip.example", False),
    ("127.0.0.1.", False), ("[::2]:5000", False), ("127.255.255.254:80", True),
])
def test_loopback(host, loop):
    assert reference.is_loopback_host(host) is loop


@pytest.mark.parametrize("text", ["127.0.0.1:65536/a:b", "reg.example:99999/x", "localhost:0/x", "[::1]:70000/x"])
def test_port_out_of_range(text):
    with pytest.raises(BadReference, match="between 1 and 65535"):
        reference.parse(text)


@pytest.mark.parametrize("host", ["127.0.0.1:65535", "reg.example", "[::1]:1", "localhost:5000"])
def test_valid_host(host):
    assert reference.valid_host(host) == host
    assert reference.parse(f"{host}/team/app:1").domain == host


@pytest.mark.parametrize("host", ["", "reg.example:", "reg example", "reg.example:5000\n", "a/b"])
def test_invalid_host(host):
    with pytest.raises(BadReference):
        reference.valid_host(host)
