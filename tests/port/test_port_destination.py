"""What the destination tag already holds: platforms an earlier port added stay;
a tag holding something else is not moved without --overwrite."""

from __future__ import annotations

import json

from tests.support.port import archport, skopeo_raw, upstream_digests
from standins import images

IMAGE = "rancher/mirrored-example-hello:v1.2.3"


def _platforms(ref: str) -> dict[str, str]:
    return {f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"] for m in skopeo_raw(ref)["manifests"]}


def test_a_second_architecture_keeps_the_first(hello_upstream, hello_catalog, go_env, registry_plain, tmp_path):
    reg = registry_plain
    common = ["--to", f"{reg.host}/multi", "--mirror", f"docker.io={reg.host}", "--mirror-only",
              "--catalog", str(hello_catalog), "--cache-dir", str(tmp_path / "cache"), "--json"]
    first = archport("port", IMAGE, "--arch", "riscv64", *common, env=go_env)
    assert first.returncode == 0, first.stdout + first.stderr
    (r1,) = json.loads(first.stdout)["images"]
    second = archport("port", IMAGE, "--arch", "ppc64le", "--no-smoke", *common, env=go_env)
    assert second.returncode == 0, second.stdout + second.stderr
    (r2,) = json.loads(second.stdout)["images"]
    assert r2["status"] == "ported" and r2["strategy"] == "go", r2
    got = _platforms(f"{reg.host}/multi/{IMAGE}")
    up = upstream_digests(reg, IMAGE)
    assert got == {"linux/amd64": up["linux/amd64"], "linux/arm64": up["linux/arm64"],
                   "linux/riscv64": r1["platformDigest"], "linux/ppc64le": r2["platformDigest"]}, got


def test_a_tag_holding_something_else_is_not_moved(hello_upstream, hello_catalog, go_env, registry_plain, tmp_path):
    reg = registry_plain
    other = images.make_image("linux/amd64", [images.layer_from_files({"unrelated": b"someone else's image\n"})])
    layout = images.write_layout(tmp_path / "other", {"t": (other.manifest, [other])})
    dest = f"{reg.host}/taken/{IMAGE}"
    images.push(layout, "t", dest)
    before = skopeo_raw(dest)
    argv = ["port", IMAGE, "--arch", "riscv64", "--to", f"{reg.host}/taken", "--mirror", f"docker.io={reg.host}",
            "--mirror-only", "--catalog", str(hello_catalog), "--cache-dir", str(tmp_path / "cache"), "--json"]
    refused = archport(*argv, env=go_env)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    (r,) = json.loads(refused.stdout)["images"]
    assert r["status"] == "failed" and "does not move a tag it did not make" in r["reason"], r
    assert "--overwrite" in r["nextStep"], r
    assert r["strategy"] is None, r          # refused before anything was built
    assert skopeo_raw(dest) == before

    cp = archport(*argv, "--overwrite", env=go_env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported", r
    assert sorted(_platforms(dest)) == ["linux/amd64", "linux/arm64", "linux/riscv64"]


# -- DestTag on its own (an OCI layout destination: no registry needed) ---------

def _desttag_setup(tmp_path, tagged: dict | None = None):
    from archport.layout import LayoutSource
    from archport.port.destination import DestTag
    from archport.port.model import parse_destination
    from archport.reference import parse as parse_ref
    from archport.strategies import Upstream

    ref = parse_ref(IMAGE)
    up_top, up_images = images.multiarch(tmp_path / "blobs", "hello", ("linux/amd64", "linux/arm64"))
    images.write_layout(tmp_path / "up", {"u": (up_top, up_images)})
    src = LayoutSource(tmp_path / "up", "u")
    top = src.resolve()
    up = Upstream(ref, src, top, tuple(top.platforms()))
    dest_dir = tmp_path / "dest"
    if tagged:
        images.write_layout(dest_dir, tagged)
    dest = parse_destination(f"oci:{dest_dir}")
    return (lambda: DestTag(dest, None, tmp_path / "cache", ref)), up, (up_top, up_images)


def test_desttag_empty_destination_is_not_done_and_appends_to_upstream(tmp_path):
    from archport.platform import parse as parse_platform
    make, up, _ = _desttag_setup(tmp_path)
    tag = make()
    assert tag.current is None
    assert tag.done(parse_platform("linux/riscv64")) is None
    assert tag.base(up, overwrite=False) is up
    assert tag.described == f"oci:{tmp_path / 'dest'}:{IMAGE}"


def test_desttag_done_is_read_once_then_remembered(tmp_path, monkeypatch):
    from archport.platform import parse as parse_platform
    top, imgs = images.multiarch(tmp_path / "b", "hello", ("linux/amd64", "linux/riscv64"))
    make, _, _ = _desttag_setup(tmp_path, {IMAGE: (top, imgs)})
    riscv = parse_platform("linux/riscv64")
    first = make()
    assert first.done(riscv) == (top.digest, imgs[1].manifest.digest)
    assert first.done(parse_platform("linux/ppc64le")) is None
    # A new DestTag (the next run) answers from the remembered digest: the
    # tag's current descriptor only, never its index.
    second = make()
    monkeypatch.setattr(type(second), "top", lambda self: (_ for _ in ()).throw(AssertionError("index read")))
    assert second.done(riscv) == (top.digest, imgs[1].manifest.digest)


def test_desttag_base_keeps_platforms_an_earlier_port_added(tmp_path):
    _, _, (up_top, up_images) = _desttag_setup(tmp_path)
    extra = images.make_image("linux/riscv64", [images.layer_from_files({"riscv": b"built\n"})])
    grown = images.make_index([*up_images, extra])
    make, up, _ = _desttag_setup(tmp_path, {IMAGE: (grown, [*up_images, extra])})
    base = make().base(up, overwrite=False)
    assert str(base.top.digest) == grown.digest
    assert base.source is not up.source
    assert {str(p) for p in base.top.platforms()} == {"linux/amd64", "linux/arm64", "linux/riscv64"}


def test_desttag_refuses_to_move_an_unrelated_tag_unless_overwrite(tmp_path):
    import pytest

    from archport.strategies import NotPortable
    other = images.make_image("linux/amd64", [images.layer_from_files({"unrelated": b"x\n"})])
    make, up, _ = _desttag_setup(tmp_path, {IMAGE: (other.manifest, [other])})
    with pytest.raises(NotPortable, match="does not move a tag it did not make") as e:
        make().base(up, overwrite=False)
    assert "--overwrite" in e.value.next_step
    assert make().base(up, overwrite=True) is up


def test_desttag_same_tag_as_upstream_appends_to_upstream(tmp_path):
    _, _, (up_top, up_images) = _desttag_setup(tmp_path)
    make, up, _ = _desttag_setup(tmp_path, {IMAGE: (up_top, up_images)})
    assert make().base(up, overwrite=False) is up
