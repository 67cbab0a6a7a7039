"""archport ls: a repository's tags from the real registry, as skopeo list-tags sees them."""

from __future__ import annotations

import json

from standins import images as im
from standins import skopeo
from tests.support.cli import archport, archport_json


def test_ls_lists_every_tag_like_skopeo(registry_plain, tmp_path):
    top, imgs = im.multiarch(tmp_path, "lsdemo", platforms=("linux/amd64",))
    layout = im.write_layout(tmp_path / "layout", {"t": (top, imgs)})
    repo = f"{registry_plain.host}/ls/demo"
    for tag in ("v1", "v2", "latest"):
        im.push(layout, "t", f"{repo}:{tag}")
    out = archport("ls", repo).stdout.split()
    assert out == ["latest", "v1", "v2"]
    listed = json.loads(skopeo.skopeo("list-tags", "--tls-verify=false", f"docker://{repo}").stdout)
    assert sorted(listed["Tags"]) == out
    doc = archport_json("ls", f"{repo}:v1")
    assert doc == {"repository": repo, "tags": out}


def test_ls_of_a_missing_repository_fails(registry_plain):
    p = archport("ls", f"{registry_plain.host}/ls/nothing-here", expect=1)
    assert p.stderr.strip().count("\n") == 0 and "error" in p.stderr


def test_ls_needs_a_registry_repository(tmp_path):
    for bad in (f"oci:{tmp_path}/x", "rancher/mirrored-pause@sha256:" + "a" * 64):
        p = archport("ls", bad, expect=2)
        assert p.stderr.count("\n") == 1, p.stderr
