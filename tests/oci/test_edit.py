import json

import pytest

from archport.oci import Manifest, parse_manifest
from archport.oci.edit import PlatformPresent, add_platform
from archport.platform import Platform
from standins import images as im

RV = Platform("linux", "riscv64")


@pytest.fixture
def parts(tmp_path):
    top, imgs = im.multiarch(tmp_path, "pause", family="docker")
    # an unknown field and annotations must survive verbatim
    doc = json.loads(top.data)
    doc["manifests"][0]["annotations"] = {"keep": "me"}
    doc["manifests"][1]["x-unknown"] = [1, 2]
    doc["annotations"] = {"top": "level"}
    raw = json.dumps(doc).encode()
    rv = im.make_image("linux/riscv64", imgs[0].layers, family="docker")
    return parse_manifest(raw), imgs, parse_manifest(rv.manifest.data)


def test_append_keeps_existing_entries_verbatim(parts):
    idx, imgs, rv = parts
    edit = add_platform(idx, None, rv, RV)
    new = json.loads(edit.index.raw)
    old = json.loads(idx.raw)
    assert new["manifests"][:3] == old["manifests"]
    assert new["annotations"] == {"top": "level"}
    assert new["manifests"][3] == {"mediaType": rv.media_type, "digest": str(rv.digest), "size": len(rv.raw),
                                   "platform": {"architecture": "riscv64", "os": "linux"}}
    assert edit.index.media_type == idx.media_type
    assert [str(d.digest) for d in edit.kept] == [d["digest"] for d in old["manifests"]]


def test_refuse_then_replace(parts):
    idx, imgs, rv = parts
    once = add_platform(idx, None, rv, RV).index
    with pytest.raises(PlatformPresent):
        add_platform(once, None, rv, RV)
    again = add_platform(once, None, rv, RV, replace=True)
    assert len(again.replaced) == 1 and len(again.index.manifests) == 4


def test_single_manifest_becomes_index(parts):
    idx, imgs, rv = parts
    single = parse_manifest(imgs[0].manifest.data)
    assert isinstance(single, Manifest)
    edit = add_platform(single, Platform("linux", "amd64"), rv, RV)
    assert edit.index.media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert [str(p) for p in edit.index.platforms()] == ["linux/amd64", "linux/riscv64"]
    with pytest.raises(PlatformPresent):
        add_platform(single, RV, rv, RV)
