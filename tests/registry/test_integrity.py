"""Integrity against a real registry: a manifest served under a digest header
it does not hash to, and a blob mounted across repositories whose stored
bytes are damaged.  Each run goes through the real CLI."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from standins import images as im
from tests.support.cli import archport

from .proxy import TamperingProxy

pytestmark = pytest.mark.registry


def _forge(doc_bytes: bytes) -> bytes:
    """A valid index, minus its last platform: what a forger would serve."""
    doc = json.loads(doc_bytes)
    doc["manifests"] = doc["manifests"][:-1]
    return json.dumps(doc, indent=3).encode()


def _seed(registry, tmp_path, repo: str):
    top, images = im.multiarch(tmp_path / "src", repo.replace("/", "-"), layers_per_platform=1)
    lay = im.write_layout(tmp_path / "lay", {"1": (top, images)})
    im.push(lay, "1", f"{registry.host}/{repo}:1")
    return top, images


def test_a_manifest_not_matching_docker_content_digest_is_refused(registry_plain, tmp_path):
    repo = f"tamper-{uuid.uuid4().hex[:6]}/app"
    top, _ = _seed(registry_plain, tmp_path, repo)

    def rewrite(method, path, status, headers, body):
        if method == "GET" and path == f"/v2/{repo}/manifests/1" and status == 200:
            return status, headers, _forge(body)       # header still names the original
        return status, headers, body

    with TamperingProxy(registry_plain.url, rewrite) as proxy:
        out = tmp_path / "out"
        p = archport("copy", f"{proxy.host}/{repo}:1", f"oci:{out}:1", expect=1)
        err = p.stderr.strip()
        assert len(err.splitlines()) == 1, err
        assert "digest mismatch" in err and "Docker-Content-Digest" in err and top.digest in err
        assert not (out / "index.json").exists()
        assert not any(out.rglob("*")) if out.exists() else True
        # the untouched answer copies fine through the same proxy: no false alarm
        proxy.rewrite = lambda m, pth, s, h, b: (s, h, b)
        archport("copy", f"{proxy.host}/{repo}:1", f"oci:{out}:1")


def test_a_pinned_digest_wins_even_when_the_header_is_forged_too(registry_plain, tmp_path):
    repo = f"tamper-{uuid.uuid4().hex[:6]}/pinned"
    top, _ = _seed(registry_plain, tmp_path, repo)

    def rewrite(method, path, status, headers, body):
        if method == "GET" and "/manifests/" in path and status == 200 and json.loads(body).get("manifests"):
            forged = _forge(body)
            return status, {**headers, "Docker-Content-Digest": im.sha256(forged)}, forged
        return status, headers, body

    with TamperingProxy(registry_plain.url, rewrite) as proxy:
        p = archport("copy", f"{proxy.host}/{repo}@{top.digest}", f"oci:{tmp_path}/out:1", expect=1)
        assert "digest mismatch" in p.stderr and top.digest in p.stderr
        assert not (tmp_path / "out" / "index.json").exists()


def _status(url: str, repo: str, tag: str) -> int:
    return httpx.head(f"{url}/v2/{repo}/manifests/{tag}",
                      headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).status_code


@pytest.fixture
def damaged_source(registry_plain, tmp_path):
    """A single-platform image in one repository with its layer damaged in
    the registry's storage: ``damage(how)`` flips a byte or truncates."""
    img = im.make_image("linux/amd64", [im.layer_from_files({"data": b"payload " * 4000})])
    lay = im.write_layout(tmp_path / "lay", {"x": (img.manifest, [img])})
    src = f"mount-{uuid.uuid4().hex[:6]}/src"
    im.push(lay, "x", f"{registry_plain.host}/{src}:x")
    stored = registry_plain.blob_path(img.layers[0].digest)
    original = stored.read_bytes()

    def damage(how: str) -> None:
        data = bytearray(original)
        if how == "flip":
            data[len(data) // 2] ^= 0xFF
        else:
            data = data[: len(data) - 100]
        stored.write_bytes(bytes(data))

    yield src, img, damage
    stored.write_bytes(original)


def test_a_mounted_blob_of_the_wrong_size_is_caught_by_head(registry_plain, damaged_source):
    src, img, damage = damaged_source
    damage("truncate")
    dst = src.replace("/src", "/dst-head")
    p = archport("copy", "--no-verify-blobs", f"{registry_plain.host}/{src}:x", f"{registry_plain.host}/{dst}:x",
                 expect=1)
    assert "digest mismatch" in p.stderr and "bytes instead of" in p.stderr and dst in p.stderr
    assert _status(registry_plain.url, dst, "x") == 404


def test_a_mounted_blob_is_read_back_by_default(registry_plain, damaged_source):
    """Same size, same name in the registry: only hashing the bytes can tell,
    and a copy within one registry does so for every blob it mounts."""
    src, img, damage = damaged_source
    damage("flip")
    dst = src.replace("/src", "/dst-default")
    p = archport("copy", f"{registry_plain.host}/{src}:x", f"{registry_plain.host}/{dst}:x", expect=1)
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "digest mismatch" in p.stderr and "read back after mounting it" in p.stderr and dst in p.stderr
    assert _status(registry_plain.url, dst, "x") == 404
    # --no-verify-blobs is the way to skip the read: the damage passes, as documented
    ok = archport("copy", "--json", "--no-verify-blobs", f"{registry_plain.host}/{src}:x",
                  f"{registry_plain.host}/{dst}-off:x")
    assert "mounted" in ok.stdout


def test_verify_blobs_reads_back_a_mounted_blob(registry_plain, damaged_source):
    src, img, damage = damaged_source
    damage("flip")      # same size: only hashing the bytes can tell
    dst = src.replace("/src", "/dst-flip")
    p = archport("copy", "--verify-blobs", f"{registry_plain.host}/{src}:x", f"{registry_plain.host}/{dst}:x",
                 expect=1)
    assert len(p.stderr.strip().splitlines()) == 1
    assert "digest mismatch" in p.stderr and "--verify-blobs" in p.stderr
    assert _status(registry_plain.url, dst, "x") == 404


def test_port_verifies_blobs_by_default():
    from archport.cli.context import Context
    from archport.cli.main import build_parser

    parser = build_parser()

    def verify(*argv):
        return Context.from_args(parser.parse_args(list(argv))).verify_blobs

    assert verify("port", "x", "--to", "oci:/tmp/x") is True
    assert verify("port", "x", "--to", "oci:/tmp/x", "--no-verify-blobs") is False
    assert verify("--no-verify-blobs", "port", "x", "--to", "oci:/tmp/x") is False
    assert verify("copy", "a", "b") is False
    assert verify("copy", "--verify-blobs", "a", "b") is True
