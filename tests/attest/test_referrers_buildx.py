"""Upstream's own attestations stay: an index built by buildx holds, beside
each image, an attestation manifest (platform unknown/unknown, annotated
``vnd.docker.reference.type: attestation-manifest`` and
``vnd.docker.reference.digest``).  Appending riscv64 copies them and lists
them byte for byte."""

from __future__ import annotations

import json

import httpx

from archport import reference
from archport.oci import Index
from archport.platform import RISCV64
from archport.publish import Sourced, append_platform
from archport.registry import RegistrySink, RegistrySource
from standins import images as I

IN_TOTO = "application/vnd.in-toto+json"


def _attestation_for(img: I.Image) -> tuple[I.Image, dict]:
    """The shape buildx (BuildKit's exporter) gives an image's attestation:
    an OCI image manifest whose config is an ``unknown/unknown`` image config
    and whose layers are in-toto statements about the image."""
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1",
                            "predicateType": "https://slsa.dev/provenance/v0.2",
                            "subject": [{"name": "pkg:docker/example@v1",
                                         "digest": {"sha256": img.manifest.digest.split(":")[1]}}],
                            "predicate": {"builder": {"id": ""}, "buildType": "https://mobyproject.org/buildkit@v1"}},
                           separators=(",", ":")).encode()
    layer = I.Blob(IN_TOTO, statement, None, I.sha256(statement), len(statement))
    cfg = json.dumps({"architecture": "unknown", "os": "unknown", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": [layer.digest]}}).encode()
    config = I.Blob(I.OCI_CONFIG, cfg, None, I.sha256(cfg), len(cfg))
    man = json.dumps({"schemaVersion": 2, "mediaType": I.OCI_MANIFEST, "config": config.descriptor(),
                      "layers": [layer.descriptor(annotations={"in-toto.io/predicate-type":
                                                               "https://slsa.dev/provenance/v0.2"})]}).encode()
    att = I.Image(("unknown", "unknown", ""), I.Blob(I.OCI_MANIFEST, man, None, I.sha256(man), len(man)), config,
                  [layer])
    entry = att.manifest.descriptor(
        platform={"architecture": "unknown", "os": "unknown"},
        annotations={"vnd.docker.reference.digest": img.manifest.digest,
                     "vnd.docker.reference.type": "attestation-manifest"})
    return att, entry


def test_appending_riscv64_keeps_buildx_attestations_byte_identical(registry_plain, tmp_path):
    _, images = I.multiarch(tmp_path, "buildx", platforms=("linux/amd64", "linux/arm64"))
    atts = [_attestation_for(i) for i in images]
    entries = [i.manifest.descriptor(platform={"architecture": i.platform[1], "os": i.platform[0]}) for i in images]
    doc = {"schemaVersion": 2, "mediaType": I.OCI_INDEX, "manifests": entries + [e for _, e in atts]}
    raw = json.dumps(doc, indent=2).encode()
    top = I.Blob(I.OCI_INDEX, raw, None, I.sha256(raw), len(raw))
    I.push_raw(registry_plain.url, "upstream/buildx", "v1", top, images + [a for a, _ in atts])
    rv = I.make_image("linux/riscv64", [I.layer_from_files({"hello": b"riscv64"})])
    I.push_raw(registry_plain.url, "built/buildx", "rv", rv.manifest, [rv])

    with registry_plain.client() as client:
        up = RegistrySource(client, reference.parse(f"{registry_plain.host}/upstream/buildx:v1"))
        child_src = RegistrySource(client, reference.parse(f"{registry_plain.host}/built/buildx:rv"))
        dest = reference.parse(f"{registry_plain.host}/ported/buildx:v1")
        sink = RegistrySink(client, dest)
        edit = append_platform(sink, "v1", Sourced(up.resolve(), up), Sourced(child_src.resolve(), child_src),
                               RISCV64)
        after = client.get_manifest(dest)
    assert isinstance(after, Index) and after.digest == edit.index.digest
    listed = json.loads(after.raw)["manifests"]
    # Every upstream entry, attestations included, exactly as upstream listed it; riscv64 after them.
    assert listed[:len(doc["manifests"])] == doc["manifests"]
    assert listed[-1]["platform"] == {"architecture": "riscv64", "os": "linux"}
    for att, entry in atts:
        assert entry["annotations"]["vnd.docker.reference.digest"] in {i.manifest.digest for i in images}
        got = httpx.get(f"{registry_plain.url}/v2/ported/buildx/manifests/{att.manifest.digest}",
                        headers={"Accept": I.OCI_MANIFEST})
        assert got.status_code == 200 and got.content == att.manifest.data
        for b in att.blobs():
            blob = httpx.get(f"{registry_plain.url}/v2/ported/buildx/blobs/{b.digest}")
            assert blob.status_code == 200 and blob.content == b.data
