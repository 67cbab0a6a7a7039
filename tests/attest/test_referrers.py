"""Attachments as OCI 1.1 referrers: their shape, the referrers tag schema
(distribution 2.8 has no referrers API), layouts, and reading them back."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from archport import reference
from archport.attest import attach as A
from archport.attest import read as R
from archport.attest import referrers as RF
from archport.attest.model import IN_TOTO, PREDICATE_ANNOTATION, SLSA_PREDICATE, SPDX_JSON, SPDX_PREDICATE, Attachment
from archport.layout import LayoutSink, LayoutSource
from archport.oci import Descriptor, Index, mediatypes as mt
from archport.oci.digest import Digest
from archport.registry import RegistrySink, RegistrySource
from standins import images as I

SBOM = Attachment(SPDX_JSON, SPDX_JSON, b'{"spdxVersion":"SPDX-2.3"}', ((PREDICATE_ANNOTATION, SPDX_PREDICATE),))
PROV = Attachment(IN_TOTO, IN_TOTO, b'{"_type":"https://in-toto.io/Statement/v1"}',
                  ((PREDICATE_ANNOTATION, SLSA_PREDICATE),))


def _subject(img) -> Descriptor:
    return Descriptor(img.manifest.media_type, Digest.parse(img.manifest.digest), img.manifest.size)


@pytest.fixture
def riscv_image():
    return I.make_image("linux/riscv64", [I.layer_from_files({"pause": f"rv {uuid.uuid4()}".encode()})])


# -- pure --------------------------------------------------------------------------

def test_a_referrer_is_an_artifact_manifest_whose_subject_is_the_platform_manifest(riscv_image):
    subject = _subject(riscv_image)
    r = RF.build(SBOM, subject)
    doc = json.loads(r.manifest.raw)
    assert doc["mediaType"] == mt.OCI_MANIFEST and doc["artifactType"] == SPDX_JSON
    assert doc["config"] == {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "data": "e30=",
                             "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}
    assert doc["subject"] == {"mediaType": subject.media_type, "digest": str(subject.digest), "size": subject.size}
    assert [l["mediaType"] for l in doc["layers"]] == [SPDX_JSON]
    assert r.blobs[1][1] == SBOM.data
    entry = r.descriptor().to_dict()
    assert entry["artifactType"] == SPDX_JSON and entry["annotations"] == {PREDICATE_ANNOTATION: SPDX_PREDICATE}
    # Deterministic: the same attachment and subject give the same bytes.
    assert RF.build(SBOM, subject).manifest.raw == r.manifest.raw
    assert RF.fallback_tag(subject.digest) == "sha256-" + subject.digest.hex


def test_the_referrers_index_keeps_what_others_listed_verbatim(riscv_image):
    subject = _subject(riscv_image)
    foreign = {"mediaType": mt.OCI_MANIFEST, "digest": "sha256:" + "ab" * 32, "size": 10,
               "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json", "x-unknown": [1, 2]}
    existing = RF.merged(None, [Descriptor.from_dict(foreign)])
    ours = [r.descriptor() for r in RF.build_all((SBOM, PROV), subject)]
    new = RF.merged(existing, ours)
    assert new.document()["manifests"][0] == foreign
    assert [str(d.digest) for d in new.manifests][1:] == [str(d.digest) for d in ours]
    assert RF.merged(new, ours) is None                       # nothing to add: the tag stays


# -- a registry without the referrers API ---------------------------------------------

def _push(registry, repo: str, img) -> None:
    I.push_raw(registry.url, repo, "rv", img.manifest, [img])


def test_registry_without_referrers_api_gets_the_tag_schema(registry_plain, riscv_image):
    repo = f"attest/{uuid.uuid4().hex[:8]}"
    _push(registry_plain, repo, riscv_image)
    subject = _subject(riscv_image)
    ref = reference.parse(f"{registry_plain.host}/{repo}:rv")
    with registry_plain.client() as client:
        assert client.referrers(ref, str(subject.digest)) is None         # distribution 2.8: 404
        got = A.attach(RegistrySink(client, ref), subject, RF.build_all((SBOM, PROV), subject))
        tag = RF.fallback_tag(subject.digest)
        assert got.listing == f"tag {tag}" and len(got.referrers) == 2 and got.bytes > 0
        idx = client.get_manifest(ref.with_tag(tag))
        assert isinstance(idx, Index) and [str(d.digest) for d in idx.manifests] == list(got.referrers)
        # Another tool's referrer joins; attaching ours again changes nothing.
        other = RF.build(Attachment("application/example", "application/example", b"other"), subject)
        A.attach(RegistrySink(client, ref), subject, [other])
        again = A.attach(RegistrySink(client, ref), subject, RF.build_all((SBOM, PROV), subject))
        assert again.referrers == got.referrers
        final = client.get_manifest(ref.with_tag(tag))
        assert [str(d.digest) for d in final.manifests] == [*got.referrers, str(other.manifest.digest)]
        found, how = R.attachments(RegistrySource(client, ref), subject)
        assert how == f"tag {tag}"
        assert {f.artifact_type: f.data for f in found} == {SPDX_JSON: SBOM.data, IN_TOTO: PROV.data,
                                                            "application/example": b"other"}
    # What the registry stored is what we built, byte for byte.
    raw = httpx.get(f"{registry_plain.url}/v2/{repo}/manifests/{got.referrers[0]}",
                    headers={"Accept": mt.OCI_MANIFEST}).content
    assert raw == RF.build(SBOM, subject).manifest.raw


def test_layout_holds_the_referrers_tag(tmp_path, riscv_image):
    root = I.write_layout(tmp_path / "l", {"rv": (riscv_image.manifest, [riscv_image])})
    subject = _subject(riscv_image)
    sink = LayoutSink(root)
    got = A.attach(sink, subject, RF.build_all((SBOM, PROV), subject))
    sink.commit()
    names = [e["annotations"]["org.opencontainers.image.ref.name"]
             for e in json.loads((root / "index.json").read_text())["manifests"]]
    assert names == ["rv", RF.fallback_tag(subject.digest)]
    found, _ = R.attachments(LayoutSource(root, "rv"), subject)
    assert [str(f.manifest.digest) for f in found] == list(got.referrers)
    # A second run adds nothing and keeps one entry for the tag.
    sink = LayoutSink(root)
    A.attach(sink, subject, RF.build_all((SBOM, PROV), subject))
    sink.commit()
    assert len(json.loads((root / "index.json").read_text())["manifests"]) == 2
