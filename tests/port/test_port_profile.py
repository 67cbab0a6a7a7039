"""port's RISC-V baseline: Go built with GORISCV64 set explicitly (rva20u64
unless --profile raises it), recorded in the result and the image annotation,
and checked: every binary of the built image fits the profile."""

from __future__ import annotations

import json

import pytest

from tests.support.port import archport, skopeo_raw


@pytest.mark.parametrize("profile,want", [(None, "rva20u64"), ("rva22", "rva22u64")])
def test_go_port_builds_for_the_profile_and_records_it(hello_upstream, hello_catalog, go_env, registry_plain,
                                                       tmp_path, profile, want):
    reg = registry_plain
    dest = f"{reg.host}/profile-{want}"
    argv = ["port", "rancher/mirrored-example-hello:v1.2.3", "--arch", "riscv64", "--to", dest,
            "--mirror", f"docker.io={reg.host}", "--mirror-only", "--catalog", str(hello_catalog),
            "--cache-dir", str(tmp_path / "cache"), "--no-smoke", "--json"]
    if profile:
        argv += ["--profile", profile]
    # the caller's GORISCV64 does not decide: --profile (or its default) does
    cp = archport(*argv, env={**go_env, "GORISCV64": "rva23u64"})
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported" and r["strategy"] == "go" and r["isaProfile"] == want, r
    child = skopeo_raw(f"{dest}/rancher/mirrored-example-hello@{r['platformDigest']}")
    assert child["annotations"]["io.archport.riscv.profile"] == want
    files = archport("inspect", "--files", f"{dest}/rancher/mirrored-example-hello:v1.2.3", "--json", env=go_env)
    doc = json.loads(files.stdout)
    (hello,) = [f for p in doc["platforms"] if p["platform"] == "linux/riscv64" for f in p["files"]]
    assert hello["isa"]["profile"] == want
    assert hello["isa"]["built_by"][0] == {"kind": "go", "go_version": hello["go"]["version"], "goriscv64": want}
