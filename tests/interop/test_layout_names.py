"""``oci:`` layouts archport writes, read by name by skopeo, regctl and crane.

Most upstream k3s images are Docker manifest lists; skopeo (containers/image
before 5.29) resolves ``oci:DIR:NAME`` among OCI-typed ``index.json`` entries
only, regctl resolves ``ocidir://DIR:TAG`` by the ref name or its ``:TAG``
suffix, and crane has no by-name syntax for a layout: it reads the whole
layout (``crane index list``, ``crane push --index``).
"""

from __future__ import annotations

import json
import os

from standins import images as I
from standins.skopeo import raw, skopeo
from tests.support.cli import archport

from .layouts import COREDNS, PAUSE, skopeo_pick

def _multi_image_layout(root, dst):
    """What ``port --to oci:DIR`` leaves: several images in one layout, each
    named by repository path and tag."""
    archport("copy", f"oci:{root}:p", f"oci:{dst}:{PAUSE}")
    archport("copy", f"oci:{root}:d", f"oci:{dst}:{COREDNS}")
    archport("copy", f"oci:{root}:s", f"oci:{dst}:single")


def test_skopeo_opens_each_docker_list_by_name_and_keeps_the_digests(upstream, tmp_path):
    root, up = upstream
    dst = tmp_path / "lay"
    _multi_image_layout(root, dst)
    for name, key in ((PAUSE, "p"), (COREDNS, "d")):
        top, imgs = up[key]
        got = json.loads(raw(f"oci:{dst}:{name}"))
        # the OCI view lists the list's children verbatim: same digests, same platforms
        assert got["mediaType"] == I.OCI_INDEX
        assert got["manifests"] == json.loads(top.data)["manifests"]
        assert skopeo_pick(f"oci:{dst}:{name}", tmp_path / name.replace("/", "_")) == imgs[1].manifest.data
    # the Docker list itself is still in the layout, byte for byte, and named first
    entries = json.loads((dst / "index.json").read_text())["manifests"]
    named = [e for e in entries if e["annotations"]["org.opencontainers.image.ref.name"] == PAUSE]
    assert [e["mediaType"] for e in named] == [I.DOCKER_LIST, I.OCI_INDEX]
    assert named[0]["digest"] == up["p"][0].digest
    assert (dst / "blobs/sha256" / up["p"][0].digest[7:]).read_bytes() == up["p"][0].data
    # a single Docker manifest: skopeo finds it, and it keeps its digest
    assert skopeo_pick(f"oci:{dst}:single", tmp_path / "single") == up["s"][0].data
    # the entry's media type is what the blob is, for every entry
    for e in entries:
        doc = json.loads((dst / "blobs/sha256" / e["digest"][7:]).read_bytes())
        assert doc["mediaType"] == e["mediaType"]
    # and archport reads the original under the name
    assert archport("inspect", f"oci:{dst}:{PAUSE}", "--json", expect=None).returncode == 0


def test_regctl_opens_each_image_by_tag_and_gets_the_original(upstream, tmp_path, regctl):
    root, up = upstream
    dst = tmp_path / "lay"
    _multi_image_layout(root, dst)
    for tag, key in (("3.6", "p"), ("1.10.1", "d")):
        top, imgs = up[key]
        assert regctl("manifest", "get", "--format", "raw-body", f"ocidir://{dst}:{tag}").stdout.encode() == top.data
        got = regctl("image", "digest", "--platform", "linux/riscv64", f"ocidir://{dst}:{tag}").stdout.strip()
        assert got == imgs[1].manifest.digest
    assert regctl("manifest", "get", "--format", "raw-body", f"ocidir://{dst}:single").stdout.encode() \
        == up["s"][0].data


def test_crane_reads_the_whole_layout(upstream, tmp_path, crane, registry_plain):
    root, up = upstream
    dst = tmp_path / "lay"
    _multi_image_layout(root, dst)
    listed = crane("index", "list", str(dst)).stdout
    for key in ("p", "d", "s"):
        assert up[key][0].digest in listed
    # go-containerregistry reads every entry (blobs checked against their digests) ...
    ref = f"{registry_plain.host}/interop/crane-layout:all"
    crane("push", "--insecure", "--index", str(dst), ref)
    # ... and the pushed copy validates, layers and diff_ids included
    crane("validate", "--insecure", "--remote", ref)
    for key in ("p", "d"):
        crane("validate", "--insecure", "--remote", f"{registry_plain.host}/interop/crane-layout@{up[key][0].digest}")


def test_no_lock_files_stay_in_the_layout(upstream, tmp_path, crane, regctl):
    root, _ = upstream
    dst = tmp_path / "lay"
    dst.mkdir()
    # lock files an earlier version left behind are removed by the next write
    (dst / ".archport-index.lock").write_text("")
    (dst / ".archport-writers.lock").write_text("")
    _multi_image_layout(root, dst)
    assert sorted(os.listdir(dst)) == ["blobs", "index.json", "oci-layout"]
    assert not [p for p in (dst / "blobs").rglob("*") if p.name.startswith(".")]
    regctl("manifest", "get", f"ocidir://{dst}:3.6")
    crane("index", "list", str(dst))
    skopeo("inspect", "--raw", f"oci:{dst}:{PAUSE}")
