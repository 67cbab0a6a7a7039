import json

import pytest

from archport.errors import BadInput, UnsupportedMediaType
from archport.oci import Digest, Index, Manifest, mediatypes as mt, parse_manifest
from archport.oci.config import parse_config
from archport.oci.manifest import build_index
from archport.platform import Platform

H = "sha256:" + "1" * 64
H2 = "sha256:" + "2" * 64


def test_raw_kept_and_digest_over_exact_bytes():
    doc = {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
           "config": {"mediaType": mt.DOCKER_CONFIG, "digest": H, "size": 3},
           "layers": [{"mediaType": mt.DOCKER_LAYER_GZIP, "digest": H2, "size": 9}]}
    for raw in (json.dumps(doc).encode(), json.dumps(doc, indent=7).encode()):
        m = parse_manifest(raw, mt.DOCKER_MANIFEST)
        assert isinstance(m, Manifest) and m.raw == raw
        assert m.digest == Digest.of(raw)
        assert [str(b.digest) for b in m.blobs()] == [H, H2]


def test_index_keeps_unknown_fields():
    doc = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "x-extra": 1, "manifests": [
        {"mediaType": mt.OCI_MANIFEST, "digest": H, "size": 5, "platform": {"os": "linux", "architecture": "amd64"},
         "x-vendor": {"k": "v"}},
        {"mediaType": mt.OCI_MANIFEST, "digest": H2, "size": 5,
         "platform": {"os": "unknown", "architecture": "unknown"}, "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
    ]}
    raw = json.dumps(doc).encode()
    idx = parse_manifest(raw, "application/json")
    assert isinstance(idx, Index) and idx.media_type == mt.OCI_INDEX
    assert idx.manifests[0].to_dict()["x-vendor"] == {"k": "v"}
    assert idx.find(Platform("linux", "amd64")).digest == Digest.parse(H)
    assert idx.find(Platform("linux", "riscv64")) is None
    new = build_index(idx.media_type, [idx.manifests[0]])
    assert json.loads(new.raw)["manifests"][0]["x-vendor"] == {"k": "v"}
    assert new.digest == Digest.of(new.raw)


def test_shape_fallback_without_media_type():
    raw = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert parse_manifest(raw).media_type == mt.OCI_INDEX


@pytest.mark.parametrize("raw,mtype,exc", [
    (b"{not json", mt.OCI_MANIFEST, BadInput),
    (b"[]", mt.OCI_MANIFEST, BadInput),
    (json.dumps({"schemaVersion": 1, "fsLayers": []}).encode(), None, UnsupportedMediaType),
    (b"{}", "application/vnd.example+json", UnsupportedMediaType),
    (json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": {"mediaType": "x", "digest": "md5:00", "size": 1}, "layers": []}).encode(), None, BadInput),
    (json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": {"mediaType": "x", "digest": H, "size": -1}, "layers": []}).encode(), None, BadInput),
])
def test_malformed(raw, mtype, exc):
    with pytest.raises(exc):
        parse_manifest(raw, mtype)


def test_config_contract():
    raw = json.dumps({"os": "linux", "architecture": "riscv64", "config": {
        "Entrypoint": ["/coredns"], "Env": ["PATH=/usr/bin:/bin"], "User": "65532", "WorkingDir": "/",
        "ExposedPorts": {"53/udp": {}, "53/tcp": {}}}, "rootfs": {"type": "layers", "diff_ids": [H]}}).encode()
    c = parse_config(raw)
    assert c.entrypoint == ("/coredns",) and c.cmd is None and c.path == "/usr/bin:/bin"
    assert c.exposed_ports == ("53/tcp", "53/udp") and c.platform == Platform("linux", "riscv64")


def test_digest_parse():
    assert str(Digest.parse(H)) == H
    for bad in ("sha256:abc", "md5:" + "0" * 32, "nope", "sha256:" + "G" * 64):
        with pytest.raises(BadInput):
            Digest.parse(bad)
