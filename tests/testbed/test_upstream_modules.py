"""UPSTREAM's Go images are the real modules, for amd64 and arm64 only, and
say which version they are: where the module proxy refuses the tag's own
version, the nearest served one, named by the binary's build info and the
image's label (read with ``archport inspect --files``, as a user would)."""

from __future__ import annotations

import json

import pytest

from testbed import upstream
from standins import skopeo
from tests.support.cli import archport

GO = {  # repository:tag -> (binary, module, versions the bed may build: the tag's own, else a served one)
    "rancher/mirrored-coredns-coredns:1.9.1": ("/coredns", "github.com/coredns/coredns", {"v1.9.1"}),
    "rancher/local-path-provisioner:v0.0.21": ("/usr/bin/local-path-provisioner",
                                               "github.com/rancher/local-path-provisioner", None),
    "rancher/mirrored-metrics-server:v0.5.2": ("/metrics-server", "sigs.k8s.io/metrics-server", None),
}


@pytest.mark.parametrize("ref", sorted(GO))
def test_go_images_are_the_real_modules(bed, ref):
    binary, module, versions = GO[ref]
    host = upstream.upstream(bed.lay).host
    doc = json.loads(archport("inspect", f"{host}/{ref}", "--files", "--json").stdout)
    assert [p["platform"] for p in doc["platforms"]] == ["linux/amd64", "linux/arm64"]
    tag = ref.rpartition(":")[2]
    for p in doc["platforms"]:
        f = next(f for f in p["files"] if f["path"] == binary)
        go = f["go"]
        assert go["module"] == module and f["arch"] == p["platform"].split("/")[1], f   # Go 1.17 records no GOARCH
        if versions is not None:
            assert go["moduleVersion"] in versions, go
        elif go["moduleVersion"] != tag:
            # a substitute: its label says which version and why
            cfg = skopeo.config(f"docker://{host}/{ref}", "--tls-verify=false", arch=p["platform"].split("/")[1])
            text = cfg["config"]["Labels"]["org.archport.testbed.standin"]
            assert f"{module}@{go['moduleVersion']}" in text and "not served by the module proxy" in text, text
