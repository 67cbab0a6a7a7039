"""A ported image's attachments, read back by clients archport did not write:
regctl lists the referrers (registry without the referrers API, and an OCI
layout), sigstore's and in-toto's Python packages check the signed statement
with the public key (and refuse another key or a changed statement), and a
second port gives the same bytes."""

from __future__ import annotations

import base64
import json
import tarfile

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from archport.attest import read as R
from archport.attest.model import IN_TOTO, SPDX_JSON
from archport.attest.sign import BUNDLE_V03
from archport.layout import LayoutSource
from archport.oci import Descriptor
from archport.oci.digest import Digest
from tests.support.port import archport

IMAGE = "rancher/mirrored-example-hello:v1.2.3"
CACHE = None     # the module's build cache (fixture ``cache``)


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    k = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path_factory.mktemp("key") / "cosign.key"
    path.write_bytes(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    return path, k.public_key()


def _port(reg, go_env, catalog, to: str, *extra: str) -> dict:
    cp = archport("port", IMAGE, "--arch", "riscv64", "--to", to, "--mirror", f"docker.io={reg.host}", "--mirror-only",
                  "--catalog", str(catalog), "--no-smoke", "--json", "--cache-dir", str(CACHE), *extra, env=go_env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported", r
    return r


def _referrers(listing: str) -> dict[str, str]:
    """regctl's ``artifact list --format '{{json .}}'``: artifactType -> digest."""
    doc = json.loads(listing)
    return {d.get("artifactType", ""): d["digest"] for d in doc.get("descriptors") or []}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One build cache for the module's ports (none of an earlier run's)."""
    global CACHE
    CACHE = tmp_path_factory.mktemp("port-cache")
    return CACHE


@pytest.fixture(scope="module")
def ported(cache, hello_upstream, hello_catalog, go_env, registry_plain, key, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attest")
    r = _port(registry_plain, go_env, hello_catalog, f"{registry_plain.host}/attested", "--sign", str(key[0]),
              "--airgap", str(tmp / "images.tar"), "--airgap-attest")
    layout = _port(registry_plain, go_env, hello_catalog, f"oci:{tmp / 'layout'}", "--sign", str(key[0]))
    return r, layout, tmp


def test_regctl_lists_the_referrers_from_the_registry(ported, registry_plain, regctl):
    r, _, _ = ported
    regctl("registry", "set", "--tls", "disabled", registry_plain.host)
    ref = f"{registry_plain.host}/attested/rancher/mirrored-example-hello@{r['platformDigest']}"
    got = _referrers(regctl("artifact", "list", "--format", "{{json .}}", ref).stdout)
    assert set(got) == {SPDX_JSON, IN_TOTO, BUNDLE_V03}, got
    # Its tag schema fallback is the one it reads: the tag archport wrote.
    tags = regctl("tag", "ls", f"{registry_plain.host}/attested/rancher/mirrored-example-hello").stdout.split()
    assert "sha256-" + r["platformDigest"].split(":")[1] in tags


def test_regctl_lists_the_referrers_from_the_layout(ported, regctl):
    _, r, tmp = ported
    ref = f"ocidir://{tmp / 'layout'}@{r['platformDigest']}"
    got = _referrers(regctl("artifact", "list", "--format", "{{json .}}", ref).stdout)
    assert set(got) == {SPDX_JSON, IN_TOTO, BUNDLE_V03}, got


def _discovered(out: str) -> set[str]:
    """``oras discover --format json``: the artifact types of the subject's referrers."""
    doc = json.loads(out)
    return {m.get("artifactType", "") for m in doc.get("manifests") or doc.get("referrers") or []}


@pytest.mark.parametrize("where", ["registry", "layout"])
def test_oras_discovers_the_referrers(ported, registry_plain, oras, where):
    r, lr, tmp = ported
    if where == "registry":
        out = oras("discover", "--plain-http", "--distribution-spec", "v1.1-referrers-tag", "--format", "json",
                   f"{registry_plain.host}/attested/rancher/mirrored-example-hello@{r['platformDigest']}").stdout
    else:
        # oras resolves a digest in a layout only when index.json lists it,
        # and a platform manifest sits under its index: oras reads the
        # referrers tag the layout holds instead (fetching each referrer).
        tag = "sha256-" + lr["platformDigest"].split(":")[1]
        out = oras("manifest", "fetch", "--oci-layout", f"{tmp / 'layout'}:{tag}").stdout
        for m in json.loads(out)["manifests"]:
            got = json.loads(oras("manifest", "fetch", "--oci-layout", f"{tmp / 'layout'}@{m['digest']}").stdout)
            assert got["subject"]["digest"] == lr["platformDigest"] and got["artifactType"] == m["artifactType"]
    assert _discovered(out) == {SPDX_JSON, IN_TOTO, BUNDLE_V03}, out


def _found(layout, digest: str):
    subject = Descriptor("application/vnd.oci.image.manifest.v1+json", Digest.parse(digest), 0)
    return R.attachments(LayoutSource(layout, IMAGE), subject)[0]


def test_a_second_port_gives_byte_identical_attachments(ported, registry_plain, go_env, hello_catalog, key):
    r, lr, tmp = ported
    assert r["platformDigest"] == lr["platformDigest"]
    again = _port(registry_plain, go_env, hello_catalog, f"oci:{tmp / 'again'}", "--sign", str(key[0]))
    first, second = _found(tmp / "layout", lr["platformDigest"]), _found(tmp / "again", again["platformDigest"])
    assert {f.artifact_type for f in first} == {SPDX_JSON, IN_TOTO, BUNDLE_V03}
    assert [(f.entry.digest, f.data) for f in first] == [(f.entry.digest, f.data) for f in second]


def test_no_attest_attaches_nothing(registry_plain, go_env, hello_catalog, ported):
    _, _, tmp = ported
    r = _port(registry_plain, go_env, hello_catalog, f"oci:{tmp / 'plain'}", "--no-attest")
    names = [e["annotations"]["org.opencontainers.image.ref.name"]
             for e in json.loads((tmp / "plain" / "index.json").read_text())["manifests"]]
    assert names == [IMAGE] and not any("attached" in n for n in r["notes"]), (names, r["notes"])


def test_sigstore_and_in_toto_verify_the_signed_statement_offline(ported, key):
    from securesystemslib.signer import SSlibKey
    from securesystemslib.exceptions import VerificationError as SSlibVerificationError
    from sigstore.dsse import Envelope, Statement, _verify
    from sigstore.errors import VerificationError
    from sigstore_models.bundle.v1 import Bundle
    from in_toto.models.metadata import Envelope as InTotoEnvelope

    _, lr, tmp = ported
    subject = Descriptor("application/vnd.oci.image.manifest.v1+json", Digest.parse(lr["platformDigest"]), 0)
    found, _ = R.attachments(LayoutSource(tmp / "layout", "rancher/mirrored-example-hello:v1.2.3"), subject)
    bundle = R.signature(found).data
    statement = R.pick(found, IN_TOTO).data
    parsed = Bundle.from_json(bundle)                      # the sigstore bundle schema (protobuf-specs)
    assert parsed.verification_material.public_key is not None
    env = json.loads(bundle)["dsseEnvelope"]
    # sigstore's DSSE verifier, with the public key only (no certificate, no log).
    payload = _verify(key[1], Envelope._from_json(json.dumps(env)))
    assert payload == statement
    stmt = Statement(payload)
    assert stmt._inner.predicate_type == "https://slsa.dev/provenance/v1"
    assert [s.digest.root["sha256"] for s in stmt._inner.subjects] == [lr["platformDigest"].split(":")[1]]
    # in-toto's envelope (securesystemslib DSSE) verifies it too.
    kid = env["signatures"][0]["keyid"]
    ie = InTotoEnvelope.from_dict(json.loads(json.dumps(env)))
    pem = key[1].public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert ie.verify([SSlibKey(kid, "ecdsa", "ecdsa-sha2-nistp256", {"public": pem})], 1)
    assert base64.b64decode(env["payload"]) == statement
    # Both refuse another key, and a statement changed after signing.
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    other_pem = other.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    tampered = {**env, "payload": base64.b64encode(statement + b" ").decode()}
    for k, e in ((other, env), (key[1], tampered)):
        with pytest.raises(VerificationError):
            _verify(k, Envelope._from_json(json.dumps(e)))
    for p, e in ((other_pem, env), (pem, tampered)):
        with pytest.raises(SSlibVerificationError):
            InTotoEnvelope.from_dict(json.loads(json.dumps(e))).verify(
                [SSlibKey(kid, "ecdsa", "ecdsa-sha2-nistp256", {"public": p})], 1)


@pytest.mark.parametrize("how", ["port", "airgap"])
def test_the_airgap_archive_holds_the_referrers_when_asked(ported, registry_plain, go_env, how):
    r, _, tmp = ported
    archive = tmp / "images.tar"
    if how == "airgap":
        archive = tmp / "airgap.tar"
        cp = archport("airgap", f"{registry_plain.host}/attested/{IMAGE}=docker.io/{IMAGE}", "--platform",
                      "linux/riscv64", "--attestations", "--out", str(archive), env=go_env)
        assert cp.returncode == 0, cp.stdout + cp.stderr
    with tarfile.open(archive) as t:
        index = json.load(t.extractfile("index.json"))
        names = [e["annotations"].get("io.containerd.image.name") for e in index["manifests"]]
        tag = "sha256-" + r["platformDigest"].split(":")[1]
        assert f"docker.io/rancher/mirrored-example-hello:{tag}" in names, names
        entry = next(e for e in index["manifests"] if e["annotations"].get("org.opencontainers.image.ref.name") == tag)
        listing = json.load(t.extractfile(f"blobs/sha256/{entry['digest'].split(':')[1]}"))
        assert {m["artifactType"] for m in listing["manifests"]} == {SPDX_JSON, IN_TOTO, BUNDLE_V03}
        for m in listing["manifests"]:
            t.getmember(f"blobs/sha256/{m['digest'].split(':')[1]}")


def test_inspect_and_check_read_the_provenance_back(ported, registry_plain, key, go_env, tmp_path):
    r, lr, tmp = ported
    ref = f"{registry_plain.host}/attested/{IMAGE}"
    cp = archport("inspect", ref, "--provenance", "--json", env=go_env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (rv,) = [e for e in json.loads(cp.stdout)["platforms"] if e["platform"] == "linux/riscv64"]
    p = rv["provenance"]
    assert p["buildType"].endswith("/go/v1") and p["platform"] == "linux/riscv64", p
    assert p["upstream"].startswith("docker.io/rancher/mirrored-example-hello@sha256:"), p
    assert any(f["entry"] == "netx-linkname-recvmsg" for f in p["fixups"]), p
    assert rv["signed"] and rv["sbom"]["packages"] > 1
    human = archport("inspect", ref, "--provenance", env=go_env)
    assert "fixup: netx-linkname-recvmsg" in human.stdout, human.stdout
    pub = tmp_path / "cosign.pub"
    pub.write_bytes(key[1].public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    for image in (ref, f"oci:{tmp / 'layout'}:{IMAGE}"):
        cp = archport("check", image, "--provenance", "--key", str(pub), "--json", env=go_env)
        assert cp.returncode == 0, cp.stdout + cp.stderr
        v = json.loads(cp.stdout)
        assert v["ok"] and v["signature"] == "verified" and not v["problems"], v
    # Another key: the signature does not verify, exit 1.
    other = tmp_path / "other.pub"
    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    cp = archport("check", ref, "--provenance", "--key", str(other), env=go_env)
    assert cp.returncode == 1 and "signature does not verify" in cp.stdout, cp.stdout + cp.stderr


def _packages(sbom: dict) -> dict[str, set[tuple[str, str]]]:
    """archport's SBOM: Go modules and distro packages, by purl type."""
    out: dict[str, set[tuple[str, str]]] = {"golang": set(), "deb": set(), "apk": set()}
    for p in sbom["packages"]:
        for ref in p.get("externalRefs") or []:
            kind = ref.get("referenceLocator", "").partition(":")[2].partition("/")[0]
            if kind in out:
                out[kind].add((p["name"], p["versionInfo"]))
    return out


def test_syft_finds_what_the_sbom_lists(ported, registry_plain, syft):
    """syft scans the ported riscv64 image on its own; its Go modules (Go's
    standard library aside: not a module) and distro packages are the SBOM's."""
    r, _, _ = ported
    ref = f"registry:{registry_plain.host}/attested/{IMAGE}"
    scanned = json.loads(syft("scan", ref, "--platform", "linux/riscv64", "-o", "syft-json", "-q").stdout)
    assert scanned["source"]["metadata"]["manifestDigest"] == r["platformDigest"]
    theirs: dict[str, set[tuple[str, str]]] = {"golang": set(), "deb": set(), "apk": set()}
    for a in scanned["artifacts"]:
        kind = {"go-module": "golang", "deb": "deb", "apk": "apk"}.get(a["type"])
        if kind and not (kind == "golang" and a["name"] == "stdlib"):
            theirs[kind].add((a["name"], a["version"]))
    with registry_plain.client() as client:
        from archport.registry import RegistrySource
        from archport import reference
        source = RegistrySource(client, reference.parse(f"{registry_plain.host}/attested/{IMAGE}"))
        subject = Descriptor("application/vnd.oci.image.manifest.v1+json", Digest.parse(r["platformDigest"]), 0)
        ours = _packages(R.sbom(R.attachments(source, subject)[0]))
    assert theirs["golang"] and ours == theirs, (ours, theirs)


def test_containerd_imports_an_archive_with_referrers(ported, containerd):
    """k3s imports with all platforms: the referrers index must not break the
    import.  containerd keeps it as one more image named by the referrers tag."""
    r, _, tmp = ported
    ns = containerd.fresh_namespace()
    containerd.ctr("images", "import", "--all-platforms", "--no-unpack", str(tmp / "images.tar"), namespace=ns)
    listed = containerd.ctr("images", "ls", namespace=ns).stdout.splitlines()[1:]
    names = {line.split()[0]: line.split()[2] for line in listed if line.strip()}
    tag = "sha256-" + r["platformDigest"].split(":")[1]
    assert names[f"docker.io/{IMAGE}"] == r["platformDigest"], names
    assert set(names) == {f"docker.io/{IMAGE}", f"docker.io/rancher/mirrored-example-hello:{tag}"}, names

