"""The in-toto statement with its SLSA provenance v1 predicate: structure,
nothing the run cannot show, byte-identical for the same inputs."""

from __future__ import annotations

import json
from dataclasses import replace

from archport.attest import make, provenance
from archport.attest.model import IN_TOTO, PREDICATE_ANNOTATION, SLSA_PREDICATE, BuildRecord

from .records import NAME, SUBJECT, full, h1, sha


def _statement(record: BuildRecord = None) -> dict:
    return json.loads(provenance.statement(record or full(), SUBJECT, NAME))


def test_statement_and_predicate_layout():
    st = _statement()
    assert st["_type"] == "https://in-toto.io/Statement/v1"
    assert st["subject"] == [{"name": NAME, "digest": {"sha256": SUBJECT.split(":")[1]}}]
    assert st["predicateType"] == SLSA_PREDICATE == "https://slsa.dev/provenance/v1"
    bd, rd = st["predicate"]["buildDefinition"], st["predicate"]["runDetails"]
    assert bd["buildType"] == "https://archport.invalid/buildtype/go/v1"
    assert rd["builder"] == {"id": provenance.BUILDER_ID, "version": {"archport": "0.1.0", "go": "go1.26.8"}}
    assert rd["metadata"] == {}


def test_external_parameters_say_what_was_asked():
    ext = _statement()["predicate"]["buildDefinition"]["externalParameters"]
    assert ext["upstream"] == f"docker.io/rancher/mirrored-example-hello@{sha('upstream index')}"
    assert ext["upstreamTag"] == "v1.2.3" and ext["platform"] == "linux/riscv64"
    assert ext["isaProfile"] == "rva20u64" and ext["catalogEntry"] == "example-hello"
    assert ext["substitutions"] == [{"name": "example.test/hello", "wanted": "v1.2.3", "used": "v1.2.4",
                                     "why": "v1.2.3 refused by the proxy"}]
    assert ext["fixups"] == [{"entry": "netx-linkname-recvmsg", "modules": ["example.test/netx@v0.1.0"],
                              "note": "proactive"}]


def test_resolved_dependencies_carry_digests():
    deps = _statement()["predicate"]["buildDefinition"]["resolvedDependencies"]
    by_uri = {d["uri"]: d for d in deps}
    assert by_uri["oci://docker.io/rancher/mirrored-example-hello"]["digest"] == {
        "sha256": sha("upstream index").split(":")[1]}
    assert by_uri["oci://docker.io/library/busybox"]["name"] == "base"
    import base64
    netx = by_uri["pkg:golang/example.test/netx@v0.1.0"]
    assert netx["digest"] == {"dirHash": base64.b64decode(h1("netx")[3:]).hex()}
    assert by_uri["pkg:golang/golang.org/x/sys@v0.1.0"]["annotations"] == {"replacedBy": "example.test/sys@v0.1.1"}
    libc = by_uri["pkg:deb/debian/libc6@2.36-9+deb12u4?arch=riscv64"]
    assert libc["digest"] == {"sha256": sha("libc6").split(":")[1]}
    assert libc["annotations"]["signedIndex"].endswith("/InRelease")
    musl = by_uri["pkg:apk/alpine/musl@1.2.5-r0?arch=riscv64"]
    assert "digest" not in musl and musl["annotations"]["checksum"].startswith("Q1")
    assert by_uri["https://releases.example.test/v1.0/tool-linux-riscv64"]["digest"] == {
        "sha256": sha("asset").split(":")[1]}
    layer = [d for d in deps if d.get("name") == "upstream layer"]
    assert layer and layer[0]["digest"] == {"sha256": sha("upstream layer").split(":")[1]}
    # every dependency but the main module (it has no sum of its own) has a digest
    assert all("digest" in d or "checksum" in d.get("annotations", {}) for d in deps)


def test_claims_nothing_the_run_cannot_show():
    text = provenance.statement(full(), SUBJECT, NAME).decode()
    for claim in ("startedOn", "finishedOn", "invocationId", "hermetic", "reproducible", "/tmp"):
        assert claim not in text


def test_deterministic_and_attached_as_in_toto():
    a = make.attachments(full(), SUBJECT, NAME)[1]
    r = full()
    b = make.attachments(replace(r, materials=replace(r.materials, packages=r.materials.packages[::-1])),
                         SUBJECT, NAME)[1]
    assert a == b
    assert a.artifact_type == a.media_type == IN_TOTO
    assert dict(a.annotations) == {PREDICATE_ANNOTATION: SLSA_PREDICATE}
    assert a.data.endswith(b"\n") and json.loads(a.data)


def test_a_bare_record():
    st = _statement(BuildRecord("mirror", f"r/x@{sha('u')}", "linux/riscv64"))
    bd = st["predicate"]["buildDefinition"]
    assert bd["externalParameters"] == {"upstream": f"r/x@{sha('u')}", "platform": "linux/riscv64",
                                        "strategy": "mirror"}
    assert "internalParameters" not in bd
