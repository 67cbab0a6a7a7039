"""What the destination tag already holds: platforms an earlier port added stay;
a tag holding something else is not moved without --overwrite."""

from __future__ import annotations

import json

from tests.port.conftest import archport, skopeo_raw, upstream_digests
from tests.support import images

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
