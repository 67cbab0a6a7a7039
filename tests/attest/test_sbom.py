"""The SPDX 2.3 SBOM: its structure, read back and validated by spdx-tools
(a reader archport did not write), and byte-identical for the same inputs."""

from __future__ import annotations

import json
from dataclasses import replace

from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from archport.attest import make, sbom
from archport.attest.model import SPDX_JSON, BuildRecord

from .records import NAME, SUBJECT, full, sha


def validate(data: bytes):
    """The document as spdx-tools parses it, after it validated clean."""
    doc = JsonLikeDictParser().parse(json.loads(data))
    problems = validate_full_spdx_document(doc)
    assert problems == [], [p.validation_message for p in problems]
    return doc


def _by_purl(doc: dict) -> dict[str, dict]:
    return {r["referenceLocator"]: p for p in doc["packages"] for r in p.get("externalRefs", ())}


def test_every_material_is_in_the_document_with_its_digest():
    doc = json.loads(sbom.document(full(), SUBJECT, NAME))
    assert doc["spdxVersion"] == "SPDX-2.3" and doc["dataLicense"] == "CC0-1.0"
    assert doc["documentNamespace"].endswith(SUBJECT.replace(":", "-"))
    assert doc["creationInfo"]["created"] == "2022-01-01T00:00:00Z"     # the image's, not the run's
    purls = _by_purl(doc)
    image = next(p for p in doc["packages"] if p["SPDXID"] == "SPDXRef-Image")
    assert image["versionInfo"] == SUBJECT and image["primaryPackagePurpose"] == "CONTAINER"
    assert "instead of v1.2.3" in image["comment"] and "netx-linkname-recvmsg" in image["comment"]
    netx = purls["pkg:golang/example.test/netx@v0.1.0"]
    assert netx["checksums"][0]["algorithm"] == "SHA256"
    assert "fixup netx-linkname-recvmsg" in netx["comment"] and "go.sum h1:" in netx["comment"]
    assert "replaced by example.test/sys@v0.1.1" in purls["pkg:golang/golang.org/x/sys@v0.1.0"]["comment"]
    assert "pkg:golang/example.test/hello@v1.2.3%2Bdirty" in purls
    libc = purls["pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=riscv64"]
    assert libc["checksums"] == [{"algorithm": "SHA256", "checksumValue": sha("libc6").split(":")[1]}]
    assert "InRelease" in libc["comment"]
    assert "APKINDEX" in purls["pkg:apk/alpine/musl@1.2.5-r0?arch=riscv64"]["comment"]
    names = {p["name"]: p for p in doc["packages"]}
    assert names["tool-linux-riscv64"]["checksums"][0]["checksumValue"] == sha("asset").split(":")[1]
    assert names["docker.io/library/busybox"]["versionInfo"] == sha("base")
    assert names["docker.io/rancher/mirrored-example-hello"]["versionInfo"] == sha("upstream index")
    files = {f["fileName"]: f for f in doc["files"]}
    assert "carried over from upstream layer " + sha("upstream layer") in files["./etc/ssl/certs/ca-certificates.crt"]["comment"]
    rels = {(r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"]) for r in doc["relationships"]}
    hello_file = files["./hello"]["SPDXID"]
    assert (hello_file, "DEPENDS_ON", netx["SPDXID"]) in rels
    assert ("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image") in rels


def test_spdx_tools_validates_and_reads_it_back():
    doc = validate(sbom.document(full(), SUBJECT, NAME))
    versions = {(p.name, p.version) for p in doc.packages}
    assert ("example.test/netx", "v0.1.0") in versions and ("libc6", "2.36-9+deb12u4") in versions
    assert {f.name for f in doc.files} == {"./hello", "./etc/ssl/certs/ca-certificates.crt"}


def test_a_bare_record_is_valid_too():
    validate(sbom.document(BuildRecord("mirror", f"r/x@{sha('u')}", "linux/riscv64"), SUBJECT, "r/x"))


def test_same_inputs_same_bytes_and_order_does_not_matter():
    a = make.attachments(full(), SUBJECT, NAME)
    r = full()
    shuffled = replace(r, materials=replace(r.materials, files=r.materials.files[::-1],
                                            packages=r.materials.packages[::-1]))
    b = make.attachments(shuffled, SUBJECT, NAME)
    assert a == b
    assert a[0].artifact_type == a[0].media_type == SPDX_JSON
    # another subject: another namespace
    assert make.attachments(full(), sha("other"), NAME)[0].data != a[0].data


def test_nothing_of_the_run_leaks_in():
    data = sbom.document(full(), SUBJECT, NAME).decode()
    assert "/tmp" not in data and "archport-0.1.0" in data
