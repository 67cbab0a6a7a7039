"""``archport airgap`` imported by a real containerd, and ``index add``
against the real registry, checked with skopeo before and after."""

from __future__ import annotations

import hashlib
import json

import pytest
import zstandard

from standins import images as im

from standins import skopeo
from tests.support.cli import archport, archport_json

TLSV = "--tls-verify=false"


@pytest.fixture(scope="module")
def seeded(registry_plain, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("airgap-up")
    plats = ("linux/amd64", "linux/arm64", "linux/riscv64")
    pause = im.multiarch(tmp / "p", "pause", platforms=plats)
    coredns = im.multiarch(tmp / "c", "coredns", platforms=plats, family="docker",
                           config={"Entrypoint": ["/coredns"]})
    lpp = im.multiarch(tmp / "l", "lpp", platforms=("linux/amd64", "linux/arm64"), family="docker",
                       config={"Entrypoint": ["local-path-provisioner"]})
    lay = im.write_layout(tmp / "lay", {"3.6": pause})
    im.push(lay, "3.6", f"{registry_plain.host}/rancher/mirrored-pause:3.6")
    im.push_raw(registry_plain.url, "rancher/mirrored-coredns-coredns", "1.9.1", *coredns)
    im.push_raw(registry_plain.url, "rancher/local-path-provisioner", "v0.0.21", *lpp)
    return {"pause": pause, "coredns": coredns, "lpp": lpp}


def test_airgap_zst_imports_under_fully_qualified_names(registry_plain, seeded, containerd, tmp_path):
    out = tmp_path / "k3s-images.tar.zst"
    mirror = f"docker.io={registry_plain.host}"
    doc = archport_json("airgap", "--mirror", mirror, "--mirror-only", "--platform", "linux/riscv64",
                        "rancher/mirrored-pause:3.6", "rancher/mirrored-coredns-coredns:1.9.1", "--out", str(out))
    # FILE.sha256 beside it, in sha256sum format
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert (tmp_path / "k3s-images.tar.zst.sha256").read_text() == f"{digest}  {out.name}\n"
    # k3s's decoder takes windows up to 32 MiB
    params = zstandard.get_frame_parameters(out.read_bytes()[:18])
    assert params.window_size <= 32 << 20
    ns = containerd.fresh_namespace() if hasattr(containerd, "fresh_namespace") else "k8s.io"
    tar = tmp_path / "k3s-images.tar"
    tar.write_bytes(zstandard.ZstdDecompressor().decompressobj().decompress(out.read_bytes()))
    containerd.ctr("images", "import", "--all-platforms", "--no-unpack", str(tar), namespace=ns)
    listed = containerd.ctr("images", "ls", namespace=ns).stdout
    names = {line.split()[0]: line.split()[2] for line in listed.splitlines()[1:] if line.strip()}
    # one platform in the archive: each image is named by its riscv64 manifest,
    # which has the digest the registry gives it
    rv = {i["name"]: i["digest"] for i in doc["images"]}
    assert names == {
        "docker.io/rancher/mirrored-pause:3.6": seeded["pause"][1][2].manifest.digest,
        "docker.io/rancher/mirrored-coredns-coredns:1.9.1": seeded["coredns"][1][2].manifest.digest,
    }
    assert rv == names


def test_airgap_all_platforms_keeps_index_digest(registry_plain, seeded, containerd, tmp_path):
    out = tmp_path / "all.tar.gz"
    archport("airgap", f"{registry_plain.host}/rancher/mirrored-pause:3.6=docker.io/rancher/mirrored-pause:3.6",
             "--out", str(out))
    import gzip
    tar = tmp_path / "all.tar"
    tar.write_bytes(gzip.decompress(out.read_bytes()))
    ns = containerd.fresh_namespace() if hasattr(containerd, "fresh_namespace") else "k8s.io"
    containerd.ctr("images", "import", "--all-platforms", str(tar), namespace=ns)
    line = [l for l in containerd.ctr("images", "ls", namespace=ns).stdout.splitlines()
            if l.startswith("docker.io/rancher/mirrored-pause:3.6")][0]
    assert line.split()[2] == seeded["pause"][0].digest


def test_index_add_new_tag_keeps_old_and_children(registry_plain, seeded, tmp_path):
    h = registry_plain.host
    target = f"{h}/rancher/local-path-provisioner:v0.0.21"
    before = skopeo.raw(f"docker://{target}", TLSV)
    rv = im.make_image("linux/riscv64", [im.layer_from_files({"usr/bin/local-path-provisioner": (b"\x7fELF", 0o755)},
                                                             media_type=im.DOCKER_LAYER)],
                       config={"Entrypoint": ["local-path-provisioner"]}, family="docker")
    im.push_raw(registry_plain.url, "build/lpp", "riscv64", rv.manifest, [rv])
    # moving the existing tag needs --overwrite
    p = archport("index", "add", target, "--manifest", f"{h}/build/lpp:riscv64", expect=1)
    assert "--overwrite" in p.stderr
    r = archport_json("index", "add", target, "--manifest", f"{h}/build/lpp:riscv64", "--tag", "v0.0.21-riscv64")
    assert skopeo.raw(f"docker://{target}", TLSV) == before  # old tag untouched
    after = skopeo.raw(f"docker://{h}/rancher/local-path-provisioner:v0.0.21-riscv64", TLSV)
    old_doc, new_doc = json.loads(before), json.loads(after)
    assert new_doc["manifests"][:2] == old_doc["manifests"]  # existing entries verbatim
    assert new_doc["manifests"][2]["digest"] == rv.manifest.digest
    assert new_doc["manifests"][2]["platform"] == {"architecture": "riscv64", "os": "linux"}
    assert new_doc["mediaType"] == old_doc["mediaType"]
    assert r["newDigest"] == im.sha256(after)
    # the child is stored by digest, byte for byte
    assert skopeo.raw(f"docker://{h}/rancher/local-path-provisioner@{rv.manifest.digest}", TLSV) == rv.manifest.data
    # adding it again is refused; --replace with --overwrite swaps it in place
    p = archport("index", "add", f"{h}/rancher/local-path-provisioner:v0.0.21-riscv64",
                 "--manifest", f"{h}/build/lpp:riscv64", expect=1)
    assert "--replace" in p.stderr
    archport("index", "add", f"{h}/rancher/local-path-provisioner:v0.0.21-riscv64", "--manifest",
             f"{h}/build/lpp:riscv64", "--replace", "--overwrite")
    assert json.loads(skopeo.raw(f"docker://{h}/rancher/local-path-provisioner:v0.0.21-riscv64", TLSV))["manifests"] \
        == new_doc["manifests"]


def test_index_add_single_manifest_becomes_index(registry_plain, tmp_path):
    h = registry_plain.host
    amd = im.make_image("linux/amd64", [im.layer_from_files({"pause": b"x"})])
    rv = im.make_image("linux/riscv64", [im.layer_from_files({"pause": b"y"})])
    lay = im.write_layout(tmp_path / "l", {"amd": (amd.manifest, [amd]), "rv": (rv.manifest, [rv])})
    im.push(lay, "amd", f"{h}/single/pause:1")
    archport("index", "add", f"{h}/single/pause:1", "--manifest", f"oci:{lay}:rv", "--overwrite")
    doc = json.loads(skopeo.raw(f"docker://{h}/single/pause:1", TLSV))
    assert [m["digest"] for m in doc["manifests"]] == [amd.manifest.digest, rv.manifest.digest]
    assert doc["mediaType"] == "application/vnd.oci.image.index.v1+json"
