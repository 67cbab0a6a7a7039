"""check --provenance, the pure comparison: what the image shows against what its SBOM and statement claim."""

from __future__ import annotations

import base64
import hashlib

from archport.attest.rederive import Observed, compare

DIGEST = "sha256:" + "1" * 64
H1 = "h1:" + base64.b64encode(hashlib.sha256(b"netx").digest()).decode()


def _sbom(mods: dict[str, str], files: dict[str, str], subject: str = DIGEST) -> dict:
    pkgs = [{"SPDXID": "SPDXRef-Image", "name": "img", "versionInfo": subject}]
    for key, h in mods.items():
        path, version = key.split("@")
        p = {"SPDXID": f"SPDXRef-{path}", "name": path, "versionInfo": version,
             "externalRefs": [{"referenceType": "purl", "referenceLocator": f"pkg:golang/{path}@{version}"}]}
        if h:
            p["checksums"] = [{"algorithm": "SHA256", "checksumValue": h}]
        pkgs.append(p)
    return {"documentDescribes": ["SPDXRef-Image"], "packages": pkgs,
            "files": [{"fileName": f"./{p.lstrip('/')}", "checksums": [{"algorithm": "SHA256", "checksumValue": d}]}
                      for p, d in files.items()]}


SEEN = Observed(files={"/hello": "sha256:" + "a" * 64, "/etc/x": "sha256:" + "b" * 64},
                go={"/hello": (("example.test/hello", "v1.2.3", ""), ("example.test/netx", "v0.1.0", H1))})
STATEMENT = {"subject": [{"name": "img", "digest": {"sha256": "1" * 64}}]}


def test_an_sbom_that_matches_the_image_has_no_mismatch():
    sbom = _sbom({"example.test/hello@v1.2.3": "", "example.test/netx@v0.1.0": hashlib.sha256(b"netx").hexdigest()},
                 {"/hello": "a" * 64})
    assert compare(SEEN, sbom, STATEMENT, DIGEST) == []


def test_every_kind_of_mismatch_is_named():
    sbom = _sbom({"example.test/hello@v1.2.3": "", "example.test/netx@v0.1.0": "f" * 64,
                  "example.test/extra@v9.9.9": ""},
                 {"/hello": "c" * 64, "/gone": "a" * 64}, subject="sha256:" + "2" * 64)
    got = compare(SEEN, sbom, {"subject": []}, DIGEST)
    assert got == [
        f"the SBOM describes sha256:{'2' * 64}, not this image {DIGEST}",
        f"the provenance's subject is missing, not {DIGEST}",
        f"/hello links example.test/netx@v0.1.0 with go.sum {H1}; the SBOM gives another checksum",
        "the SBOM lists Go module example.test/extra@v9.9.9, which no binary in the image links",
        "the SBOM lists /gone, which the image does not hold",
        f"/hello is sha256:{'a' * 64} in the image; the SBOM says sha256:{'c' * 64}",
    ]


def test_a_devel_main_module_is_a_mismatch():
    seen = Observed(go={"/hello": (("example.test/hello", "(devel)", ""),)})
    assert compare(seen, _sbom({}, {}), STATEMENT, DIGEST) == [
        "/hello: its build info says example.test/hello@(devel), not a released version"]
