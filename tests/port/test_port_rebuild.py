"""``port --rebuild``: the tag has riscv64, but built with an old Go (doctor's
Sv57 finding); archport builds it again and swaps it into the destination's
index, keeping every other platform byte for byte.  A rerun changes nothing."""

from __future__ import annotations

import json

from tests.support.port import OLD_GO, archport, go_install, push_image, skopeo_raw, upstream_digests

REPO = "oldgo/rancher/mirrored-example-hello:v1.2.3"   # the catalog matches by path suffix


def test_rebuild_replaces_the_platform_image(hello_upstream, hello_catalog, go_env, registry_plain, tmp_path):
    reg = registry_plain
    old = go_install("example.test/hello@v1.2.3", "riscv64", go_env, tmp_path, "-X main.version=1.2.3",
                     toolchain=OLD_GO)
    bins = {**hello_upstream, "riscv64": old}
    push_image(tmp_path, REPO, reg, {a: {"hello": (b.read_bytes(), 0o755)} for a, b in bins.items()},
               {"Entrypoint": ["/hello"], "Env": ["PATH=/usr/bin:/bin"]})
    up = upstream_digests(reg, REPO)
    common = ["--arch", "riscv64", "--catalog", str(hello_catalog), "--cache-dir", str(tmp_path / "cache"), "--json"]

    # Without --rebuild the tag already has the platform: nothing is built.
    plain = archport("port", f"{reg.host}/{REPO}", "--to", f"{reg.host}/asis", *common, env=go_env)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    (p,) = json.loads(plain.stdout)["images"]
    assert p["status"] == "present" and p["strategy"] == "present", p

    argv = ["port", f"{reg.host}/{REPO}", "--rebuild", "--to", f"{reg.host}/rebuilt", *common]
    cp = archport(*argv, env=go_env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported" and r["strategy"] == "go", r
    assert r["smoke"].startswith("ok") and "version=1.2.3" in r["smokeOutput"], r
    assert f"replaced upstream's linux/riscv64 image {up['linux/riscv64']}" in r["notes"], r

    dest = skopeo_raw(f"{reg.host}/rebuilt/{REPO}")
    got = {f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"] for m in dest["manifests"]}
    assert sorted(got) == ["linux/amd64", "linux/arm64", "linux/riscv64"], got   # swapped, not appended
    assert got["linux/amd64"] == up["linux/amd64"] and got["linux/arm64"] == up["linux/arm64"]
    assert got["linux/riscv64"] == r["platformDigest"] != up["linux/riscv64"]
    # the replaced image was not copied to the destination
    assert skopeo_raw(f"{reg.host}/rebuilt/{REPO.split(':')[0]}@{up['linux/riscv64']}") is None

    files = json.loads(archport("inspect", "--files", "--json", f"{reg.host}/rebuilt/{REPO}", env=go_env).stdout)
    riscv = next(p for p in files["platforms"] if p["platform"] == "linux/riscv64")
    (hello,) = [f for f in riscv["files"] if f["path"] == "/hello"]
    assert hello["go"]["version"] != OLD_GO and hello["go"]["module"] == "example.test/hello", hello

    again = archport(*argv, env=go_env)
    assert again.returncode == 0, again.stdout + again.stderr
    (r2,) = json.loads(again.stdout)["images"]
    assert r2["status"] == "done" and r2["digest"] == r["digest"], r2
    assert skopeo_raw(f"{reg.host}/rebuilt/{REPO}") == dest


def test_rebuild_with_the_mirror_strategy_is_bad_input(go_env, tmp_path):
    cp = archport("port", "rancher/mirrored-example-hello:v1.2.3", "--rebuild", "--strategy", "mirror",
                  "--to", f"oci:{tmp_path / 'out'}", env=go_env)
    assert cp.returncode == 2 and "Traceback" not in cp.stderr, cp.stderr
    assert cp.stderr.strip().count("\n") == 0 and "--rebuild" in cp.stderr, cp.stderr
