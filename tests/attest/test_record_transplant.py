"""The build record of a real transplant: the Debian stand-in of klipper-lb
(standins.debian, real Debian packages with a real dpkg database) read from
an ``oci:`` layout, its userland rebuilt for riscv64 from the machine's
verified Debian archive; the SBOM made from it validates with spdx-tools."""

from __future__ import annotations

import dataclasses
import json

import pytest

from archport.attest import make
from archport.images import open_source
from archport.oci import read_config
from archport.platform import parse as parse_platform
from archport.port.record import build_record
from archport.reference import parse as parse_ref
from archport.strategies import Upstream
from archport.strategies.transplant import Transplant
from standins import images
from standins.debian import CACHE, CONFIG, root_files, suite
from tests.strategies.helpers import env

from .test_sbom import validate

RISCV = parse_platform("linux/riscv64")
AMD64 = parse_platform("linux/amd64")


@pytest.fixture(scope="module")
def transplanted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("transplant-record")
    img = images.make_image("linux/amd64", [images.layer_from_files(root_files("amd64"))], config=CONFIG)
    layout = images.write_layout(tmp / "layout", {"v0.3.5": (images.make_index([img]), [img])})
    source = open_source(f"oci:{layout}:v0.3.5")
    top = source.resolve()
    manifest = source.manifest(top.find(AMD64))
    up = Upstream(ref=parse_ref("rancher/klipper-lb:v0.3.5"), source=source, top=top, platforms=(AMD64,),
                  manifest=manifest, config=read_config(source, manifest))
    # The Debian downloads are cached where the other transplant tests keep theirs.
    (CACHE / "record").mkdir(parents=True, exist_ok=True)
    e = dataclasses.replace(env(tmp, debian_suite=suite()), cache_dir=CACHE / "record")
    strategy = Transplant()
    decision = strategy.consider(up, RISCV, e)
    assert decision.applies, decision.reason
    return up, strategy.build(up, RISCV, e, decision)


def test_packages_come_with_version_checksum_and_signed_index(transplanted):
    up, outcome = transplanted
    record = build_record(up, outcome, RISCV, "rva20u64")
    names = {p.name: p for p in record.materials.packages}
    assert {"busybox-static", "iptables"} <= set(names)
    p = names["iptables"]
    assert p.distro == "debian" and p.arch == "riscv64" and p.version
    assert p.checksum.startswith("sha256:") and len(p.checksum) == 71
    assert p.index.endswith(f"/dists/{suite()}/InRelease")
    carried = {c.path: c for c in record.materials.carried}
    assert "/usr/bin/entry" in carried
    assert carried["/usr/bin/entry"].layer == str(manifest_layer(up))
    files = {f.path: f.digest for f in record.materials.files}
    assert carried["/usr/bin/entry"].digest == files["/usr/bin/entry"]


def test_its_sbom_validates(transplanted):
    up, outcome = transplanted
    record = build_record(up, outcome, RISCV, "rva20u64")
    sbom, prov = make.attachments(record, str(outcome.built.manifest.digest), "127.0.0.1:5000/rancher/klipper-lb")
    doc = validate(sbom.data)
    assert any(p.name == "iptables" for p in doc.packages)
    deps = json.loads(prov.data)["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert any(d["uri"].startswith("pkg:deb/debian/iptables@") and "sha256" in d["digest"] for d in deps)
    assert any(d.get("name") == "upstream layer" for d in deps)


def manifest_layer(up):
    (layer,) = up.manifest.layers
    return layer.digest
