"""Two loopback registries for audit: "upstream" plays docker.io with the
k3s v1.24.2 images as upstream has them (amd64 and arm64 only), "ported"
holds riscv64 variants under a prefix, as a user's registry after
``archport port``.  Both are this module's own, so no other test's pushes
under the same names can change what audit sees."""

from __future__ import annotations

import pytest

from standins import images as ti
from tests.support.registry import Registry
from standins.shared import IMAGES_TXT

UPSTREAM_IMAGES = [line.strip().removeprefix("docker.io/") for line in IMAGES_TXT.read_text().splitlines()
                   if line.strip()]
WHOAMI = "traefik/whoami:v1.8.0"         # a pod's image in the doctor fixture dump, amd64 only
PORTED = ["rancher/mirrored-coredns-coredns:1.9.1", "rancher/mirrored-pause:3.6"]
PREFIX = "ported"


def _registry(tmp_path_factory, name):
    reg = Registry(tmp_path_factory.mktemp(name))
    reg.start()
    return reg


@pytest.fixture(scope="session")
def audit_registries(tmp_path_factory):
    up, ported = _registry(tmp_path_factory, "audit-upstream"), _registry(tmp_path_factory, "audit-ported")
    try:
        tmp = tmp_path_factory.mktemp("audit-images")
        two = ti.multiarch(tmp / "src", "upstream", platforms=("linux/amd64", "linux/arm64"))
        three = ti.multiarch(tmp / "src", "ported", platforms=("linux/amd64", "linux/arm64", "linux/riscv64"))
        whoami = ti.make_image("linux/amd64", [ti.layer_from_files({"whoami": b"\x7fELF amd64 only\n"})])
        layout = ti.write_layout(tmp / "layout", {"two": two, "three": three,
                                                  "whoami": (whoami.manifest, [whoami])})
        for name in UPSTREAM_IMAGES:
            ti.push(layout, "two", f"{up.host}/{name}")
        ti.push(layout, "whoami", f"{up.host}/{WHOAMI}")
        for name in PORTED:
            ti.push(layout, "three", f"{ported.host}/{PREFIX}/{name}")
        yield up, ported
    finally:
        up.stop()
        ported.stop()
