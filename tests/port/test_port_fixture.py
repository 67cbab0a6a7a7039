"""End to end: the fixture component through the CLI, the netx fixup, the index append, the no-op rerun."""

from __future__ import annotations

import json
import subprocess
import time

from tests.support.port import archport, skopeo_raw, upstream_digests


def test_port_fixture_component(hello_upstream, hello_catalog, go_env, registry_plain, tmp_path):
    reg = registry_plain
    cache = tmp_path / "cache"
    argv = ["port", "rancher/mirrored-example-hello:v1.2.3", "--arch", "riscv64", "--to", f"{reg.host}/ported",
            "--mirror", f"docker.io={reg.host}", "--mirror-only", "--catalog", str(hello_catalog), "--cache-dir", str(cache),
            "--json"]
    cp = archport(*argv, env=go_env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    doc = json.loads(cp.stdout)
    (r,) = doc["images"]
    assert r["status"] == "ported" and r["strategy"] == "go", r
    assert any(f.startswith("netx-linkname-recvmsg: example.test/netx v0.0.1 -> v0.1.0") for f in r["fixups"]), r
    assert r["check"].startswith("ok"), r
    assert r["smoke"].startswith("ok"), r
    assert "version=1.2.3" in r["smokeOutput"] and "arch=riscv64" in r["smokeOutput"], r

    # The destination index: upstream children byte-identical, riscv64 appended.
    up = upstream_digests(reg, "rancher/mirrored-example-hello:v1.2.3")
    dest = skopeo_raw(f"{reg.host}/ported/rancher/mirrored-example-hello:v1.2.3")
    got = {f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"] for m in dest["manifests"]}
    assert got["linux/amd64"] == up["linux/amd64"] and got["linux/arm64"] == up["linux/arm64"]
    assert got["linux/riscv64"] == r["platformDigest"]
    child = skopeo_raw(f"{reg.host}/ported/rancher/mirrored-example-hello@{r['platformDigest']}")
    ann = child["annotations"]
    assert ann["io.archport.fixups"] == "netx-linkname-recvmsg"
    assert ann["io.archport.go.module"] == "example.test/hello@v1.2.3"
    assert "example.test/netx v0.0.1 -> v0.1.0" in ann["io.archport.changes"]
    # the upstream image's other files came along; its other ELF did not
    assert "carried 1 files from the upstream linux/amd64 image" in ann["io.archport.changes"]
    assert "not carried (ELF for another machine): /usr/bin/helper" in ann["io.archport.changes"]
    files = archport("inspect", "--files", f"{reg.host}/ported/rancher/mirrored-example-hello:v1.2.3", env=go_env)
    riscv = [line for line in files.stdout.splitlines() if line.strip().startswith("linux/riscv64  /")]
    assert [line.split()[1] for line in riscv] == ["/hello"], files.stdout
    from tests.support.port import CA_BUNDLE
    layer = skopeo_raw(f"{reg.host}/ported/rancher/mirrored-example-hello@{r['platformDigest']}")["layers"][-1]["digest"]
    blob = subprocess.run(["curl", "-sf", f"{reg.url}/v2/ported/rancher/mirrored-example-hello/blobs/{layer}"],
                          check=True, capture_output=True).stdout
    import gzip
    import io
    import tarfile
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as t:
        assert t.extractfile("etc/ssl/certs/ca-certificates.crt").read() == CA_BUNDLE

    # A second run changes nothing and is fast.
    started = time.monotonic()
    cp2 = archport(*argv, env=go_env)
    took = time.monotonic() - started
    assert cp2.returncode == 0, cp2.stdout + cp2.stderr
    (r2,) = json.loads(cp2.stdout)["images"]
    assert r2["status"] == "done" and r2["digest"] == r["digest"], r2
    assert skopeo_raw(f"{reg.host}/ported/rancher/mirrored-example-hello:v1.2.3") == dest
    assert took < 10, took


def test_explain_builds_nothing(hello_upstream, hello_catalog, go_env, registry_plain, tmp_path):
    reg = registry_plain
    cp = archport("port", "rancher/mirrored-example-hello:v1.2.3", "--to", f"{reg.host}/explained",
                  "--mirror", f"docker.io={reg.host}", "--mirror-only", "--catalog", str(hello_catalog), "--explain",
                  "--cache-dir", str(tmp_path), env=go_env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "present" in cp.stdout and "go" in cp.stdout and "applies" in cp.stdout, cp.stdout
    assert "example.test/hello is a Go module" in cp.stdout, cp.stdout
    assert skopeo_raw(f"{reg.host}/explained/rancher/mirrored-example-hello:v1.2.3") is None


def test_distro_image_without_a_package_database_is_refused(go_env, registry_plain, tmp_path):
    """klipper-lb is alpine + iptables + a script; an image of that name with
    no package database has no userland to transplant: refused, saying what
    the catalog expects (tests/transplant has the ports that work)."""
    from tests.support.port import push_image
    reg = registry_plain
    push_image(tmp_path, "rancher/klipper-lb:v0.3.5", reg,
               {"amd64": {"usr/bin/entry": (b"#!/bin/sh\nexec iptables -L\n", 0o755)}}, {"Cmd": ["entry"]})
    cp = archport("port", f"{reg.host}/rancher/klipper-lb:v0.3.5", "--to", f"{reg.host}/distro",
                  "--cache-dir", str(tmp_path / "cache"), "--json", env=go_env)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "failed" and any(d["strategy"] == "transplant" for d in r["decisions"]), r
    assert "no package database" in r["reason"], r
    assert r["nextStep"].startswith("the catalog expects alpine:3.12"), r
    assert skopeo_raw(f"{reg.host}/distro/rancher/klipper-lb:v0.3.5") is None
