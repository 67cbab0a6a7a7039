"""port --manifests DIR with no IMAGE: the images the manifests run are the
ones ported (the same inventory as `archport audit --manifests`)."""

from __future__ import annotations

import json

from tests.support.cli import archport
from standins.shared import MANIFESTS


def test_manifests_alone_name_the_images(tmp_path):
    # Nothing answers on port 9: the run fails per image, but it names them.
    p = archport("port", "--manifests", str(MANIFESTS), "--explain", "--to", "127.0.0.1:9/x",
                 "--mirror", "docker.io=127.0.0.1:9", "--mirror-only", "--json", expect=1, cwd=tmp_path)
    images = [i["image"] for i in json.loads(p.stdout)["images"]]
    assert images == ["rancher/mirrored-coredns-coredns:1.9.1", "rancher/local-path-provisioner:v0.0.21",
                      "rancher/mirrored-library-busybox:1.34.1", "rancher/mirrored-metrics-server:v0.5.2",
                      "rancher/mirrored-library-traefik:2.6.2"]


def test_nothing_to_port_is_bad_input(tmp_path):
    p = archport("port", "--to", "oci:x", expect=2, cwd=tmp_path)
    assert "--manifests DIR" in p.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    p = archport("port", "--manifests", str(empty), "--to", "oci:x", expect=2, cwd=tmp_path)
    assert "no container images found" in p.stderr
