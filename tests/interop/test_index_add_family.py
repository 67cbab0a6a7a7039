"""``index add`` keeps a Docker manifest list all Docker: an OCI image joining
one is rewritten as a Docker manifest over the same blobs, as ``port`` builds
into the upstream's family; what has no Docker form is refused."""

from __future__ import annotations

import json

import httpx

from standins import images as I
from tests.support.cli import archport

ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"


def _docker_list(registry, tmp_path, repo):
    top, imgs = I.multiarch(tmp_path, "list", platforms=("linux/amd64", "linux/arm64"), family="docker")
    I.push_raw(registry.url, repo, "1", top, imgs)
    return top, imgs


def _get(registry, repo, ref):
    r = httpx.get(f"{registry.url}/v2/{repo}/manifests/{ref}", headers={"Accept": ", ".join(
        (I.DOCKER_LIST, I.DOCKER_MANIFEST, I.OCI_INDEX, I.OCI_MANIFEST))})
    r.raise_for_status()
    return r.headers["Content-Type"], r.content


def test_oci_child_joins_a_docker_list_as_a_docker_manifest(registry_plain, tmp_path, crane, regctl):
    repo = "interop/family"
    top, imgs = _docker_list(registry_plain, tmp_path, repo)
    rv = I.make_image("linux/riscv64", [I.layer_from_files({"rv": b"riscv64\n"})])   # OCI
    I.write_layout(tmp_path / "rv", {"rv": (rv.manifest, [rv])})
    p = archport("index", "add", f"{registry_plain.host}/{repo}:1", "--manifest", f"oci:{tmp_path / 'rv'}:rv",
                 "--tag", "2")
    assert f"the OCI image {rv.manifest.digest} joins a Docker manifest list as a Docker manifest" in p.stdout
    ctype, body = _get(registry_plain, repo, "2")
    doc = json.loads(body)
    assert ctype == I.DOCKER_LIST and doc["mediaType"] == I.DOCKER_LIST
    assert [m["mediaType"] for m in doc["manifests"]] == [I.DOCKER_MANIFEST] * 3
    # the existing children are byte-identical
    assert doc["manifests"][:2] == json.loads(top.data)["manifests"]
    added = doc["manifests"][2]
    assert added["platform"]["architecture"] == "riscv64"
    ctype, child = _get(registry_plain, repo, added["digest"])
    child = json.loads(child)
    assert ctype == I.DOCKER_MANIFEST and child["mediaType"] == I.DOCKER_MANIFEST
    # same blobs: only the manifest is new
    assert child["config"]["digest"] == rv.config.digest and child["config"]["mediaType"] == I.DOCKER_CONFIG
    assert [(lay["digest"], lay["mediaType"]) for lay in child["layers"]] == \
        [(b.digest, I.DOCKER_LAYER) for b in rv.layers]
    # other clients read the result whole
    crane("validate", "--insecure", "--remote", f"{registry_plain.host}/{repo}:2")
    regctl("registry", "set", "--tls", "disabled", registry_plain.host)
    got = regctl("image", "digest", "--platform", "linux/riscv64", f"{registry_plain.host}/{repo}:2").stdout.strip()
    assert got == added["digest"]


def test_a_child_without_a_docker_form_is_refused_with_the_reason(registry_plain, tmp_path):
    repo = "interop/family-zstd"
    top, _ = _docker_list(registry_plain, tmp_path, repo)
    rv = I.make_image("linux/riscv64", [I.layer_from_files({"rv": b"riscv64\n"}, media_type=ZSTD)])
    I.write_layout(tmp_path / "rv", {"rv": (rv.manifest, [rv])})
    p = archport("index", "add", f"{registry_plain.host}/{repo}:1", "--manifest", f"oci:{tmp_path / 'rv'}:rv",
                 "--tag", "2", expect=2)
    assert "zstd" in p.stderr and "Docker" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    r = httpx.get(f"{registry_plain.url}/v2/{repo}/manifests/2", headers={"Accept": I.DOCKER_LIST})
    assert r.status_code == 404          # nothing tagged
    assert _get(registry_plain, repo, "1")[1] == top.data
