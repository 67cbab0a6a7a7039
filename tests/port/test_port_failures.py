"""Failure paths: a module that still fails after fixups, bad input, a registry
that goes away in the middle of a multi-image port."""

from __future__ import annotations

import json

import pytest

from tests.support.port import HELLO_CATALOG, archport, push_image, skopeo_raw
from tests.support import goproxy

BROKEN_CATALOG = """
name = "example-broken"
description = "A module that does not compile, even after its netx bump."
kind = "go"
module_version = "{tag}"

[[image]]
repository = "rancher/mirrored-example-broken"
source = "https://example.test/broken"

[[go]]
versions = ">=0.1.0"
module = "example.test/broken"
package = "."
cgo = false
source = "https://example.test/broken"

[[contract]]
versions = ">=0.1.0"
binary = "/broken"
entrypoint = ["/broken"]
base = "scratch"
source = "https://example.test/broken"
"""

BROKEN_MAIN = """package main

import "example.test/netx"

func main() {
\tvar n int = "not a number"
\t_ = netx.Ready()
\t_ = n
}
"""


@pytest.fixture(scope="module")
def broken(tmp_path_factory, go_env, registry_plain, proxy_dir):
    tmp = tmp_path_factory.mktemp("broken")
    fixtures = tmp / "gomod"
    mod = fixtures / "broken@v0.1.0"
    mod.mkdir(parents=True)
    (mod / "go.mod").write_text("module example.test/broken\n\ngo 1.20\n\nrequire example.test/netx v0.0.1\n")
    (mod / "main.go").write_text(BROKEN_MAIN)
    extra_proxy = goproxy.build(tmp / "proxy", fixtures)
    env = dict(go_env)
    env["GOPROXY"] = f"file://{extra_proxy},{go_env['GOPROXY']}"
    # The upstream image holds a script where the binary would be: the build
    # info is unreadable, so the catalog's [[go]] table names the module.
    push_image(tmp, "rancher/mirrored-example-broken:v0.1.0", registry_plain,
               {"amd64": {"broken": (b"#!/bin/sh\necho upstream\n", 0o755)}},
               {"Entrypoint": ["/broken"]})
    cat = tmp / "broken.toml"
    cat.write_text(BROKEN_CATALOG)
    hello = tmp / "hello.toml"
    hello.write_text(HELLO_CATALOG)
    return env, cat, hello


def test_module_that_does_not_build(broken, registry_plain, tmp_path):
    env, cat, hello = broken
    reg = registry_plain
    cp = archport("port", "rancher/mirrored-example-broken:v0.1.0", "--to", f"{reg.host}/failed",
                  "--mirror", f"docker.io={reg.host}", "--mirror-only", "--catalog", str(cat), "--catalog", str(hello),
                  "--cache-dir", str(tmp_path / "cache"), "--json", env=env)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "failed"
    assert "cannot use \"not a number\"" in r["reason"], r["reason"]          # the compiler's error
    assert "fixups tried: netx-linkname-recvmsg" in r["reason"], r["reason"]  # the proactive bump happened
    assert r["nextStep"]
    assert skopeo_raw(f"{reg.host}/failed/rancher/mirrored-example-broken:v0.1.0") is None   # nothing pushed


def test_unknown_image_and_release(go_env, registry_plain, hello_catalog, tmp_path):
    reg = registry_plain
    # Named by the local registry itself: a mirror that answers 404 would
    # otherwise be followed by the upstream host, which tests never contact.
    common = ["--to", f"{reg.host}/x", "--cache-dir", str(tmp_path)]
    cp = archport("port", f"{reg.host}/rancher/no-such-image:v1", *common, env=go_env)
    assert cp.returncode == 2, cp.stdout + cp.stderr
    assert len(cp.stderr.strip().splitlines()) == 1 and "unknown image" in cp.stderr
    cp = archport("port", f"{reg.host}/rancher/mirrored-example-hello:v9.9.9", "--catalog", str(hello_catalog), *common,
                  env=go_env)
    assert cp.returncode == 2 and "unknown version" in cp.stderr, cp.stderr
    cp = archport("port", "--k3s", "v9.9.9", *common, env=go_env)
    assert cp.returncode == 2 and len(cp.stderr.strip().splitlines()) == 1, cp.stderr


def _json_of(captured) -> dict:
    """The run's JSON document; a run that printed anything else fails showing both streams."""
    assert captured.out.lstrip().startswith("{"), (captured.out, captured.err)
    return json.loads(captured.out)


def test_network_failure_mid_run_then_resume(hello_upstream, hello_catalog, go_env, registry_plain, tmp_path,
                                             monkeypatch, capsys):
    """The registry stops after the first image; the rerun keeps it and ports the second."""
    from archport.cli import main as cli
    from archport.port import run as port_run

    reg = registry_plain
    for k, v in go_env.items():
        monkeypatch.setenv(k, v)
    # Named by the local registry (no --mirror): with the registry down, a
    # mirror would be followed by the upstream host, which tests never contact.
    argv = ["port", f"{reg.host}/rancher/mirrored-example-hello:v1.2.3",
            f"{reg.host}/rancher/mirrored-example-hello:v1.2.4",
            "--to", f"{reg.host}/resume", "--catalog", str(hello_catalog),
            "--cache-dir", str(tmp_path / "cache"), "--json"]
    original = port_run.port_image
    calls = []

    def stop_after_first(*a, **kw):
        if calls:
            reg.stop()
        calls.append(1)
        return original(*a, **kw)

    monkeypatch.setattr(port_run, "port_image", stop_after_first)
    try:
        code = cli.main(argv)
    finally:
        # Only the registry this test stopped is started again.  A run that
        # ended before its second image never stopped it, and a second
        # registry on its port exits ("address already in use"): that error
        # would replace the run's own, and the first registry would be left
        # running with no handle for the rest of the session.
        if not reg.running:
            reg.start()
    first = _json_of(capsys.readouterr())
    assert len(calls) == 2, first        # the run reached the second image, where the registry stopped
    assert code == 1
    assert [r["status"] for r in first["images"]] == ["ported", "failed"], first
    done_digest = first["images"][0]["digest"]

    monkeypatch.setattr(port_run, "port_image", original)
    code = cli.main(argv)
    second = _json_of(capsys.readouterr())
    assert code == 0, second
    assert [r["status"] for r in second["images"]] == ["done", "ported"], second
    assert second["images"][0]["digest"] == done_digest
