"""``--substitute`` for the go strategy: when the proxy cannot give the exact
module version the upstream binary was built from (the one reachable here
refuses metrics-server v0.5.2 and local-path-provisioner v0.0.21 outright),
port says so and names the flag; with it, port builds the named version,
says what it built instead of what, and records it in the image."""

from __future__ import annotations

import json
import shutil

from tests.support.port import HELLO_CATALOG, archport, go_env_value, skopeo_raw
from tests.support import goproxy


def _proxy_without_the_exact_version(tmp_path):
    """A module proxy that has hello v1.2.5 (and netx) but not v1.2.3."""
    fixtures = tmp_path / "fixtures"
    shutil.copytree(goproxy.FIXTURES, fixtures)
    (fixtures / "hello@v1.2.3").rename(fixtures / "hello@v1.2.5")
    return goproxy.build(tmp_path / "proxy", fixtures)


def test_a_refused_version_names_the_flag_then_the_substitute_is_built(hello_upstream, go_env, registry_plain,
                                                                        tmp_path):
    reg = registry_plain
    # the catalog's -X templates (the upstream binary, built with -trimpath, records
    # no -ldflags): one is filled from the .info of the version really built
    hello_catalog = tmp_path / "hello.toml"
    x = 'x = { "main.version" = "{version}" }'
    assert x in HELLO_CATALOG
    hello_catalog.write_text(HELLO_CATALOG.replace(x, 'x = { "main.version" = "{version}", "main.commit" = "{commit}" }'))
    env = dict(go_env)
    # the fixture proxy without v1.2.3; the real one after it still serves toolchains
    env["GOPROXY"] = f"file://{_proxy_without_the_exact_version(tmp_path)},{go_env_value('GOPROXY')}"
    env["GOMODCACHE"] = str(tmp_path / "modcache")       # the shared one already holds v1.2.3
    base = ["port", "rancher/mirrored-example-hello:v1.2.3", "--arch", "riscv64", "--to", f"{reg.host}/substituted",
            "--mirror", f"docker.io={reg.host}", "--mirror-only", "--catalog", str(hello_catalog),
            "--cache-dir", str(tmp_path / "cache"), "--json"]

    cp = archport(*base, env=env)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "failed" and "example.test/hello@v1.2.3" in r["reason"], r
    assert "--substitute hello=VERSION" in r["nextStep"], r
    assert skopeo_raw(f"{reg.host}/substituted/rancher/mirrored-example-hello:v1.2.3") is None

    cp = archport(*base, "--substitute", "hello=v1.2.5", env=env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported" and "example.test/hello@v1.2.5" in r["reason"], r
    said = [n for n in r["notes"] if "instead of" in n]
    assert said and "built example.test/hello@v1.2.5 instead of v1.2.3" in said[0], r["notes"]
    assert "--substitute hello=v1.2.5" in said[0]
    assert "-X main.commit left empty: example.test/hello@v1.2.5's .info has no Origin.Hash" in r["notes"], r["notes"]
    # the -X value that carried the version carries the new one: the program says what it is
    assert "version=1.2.5" in r["smokeOutput"] and "arch=riscv64" in r["smokeOutput"], r
    child = skopeo_raw(f"{reg.host}/substituted/rancher/mirrored-example-hello@{r['platformDigest']}")
    assert child["annotations"]["io.archport.go.module"] == "example.test/hello@v1.2.5"
    assert "instead of v1.2.3" in child["annotations"]["io.archport.substituted"]


def test_a_substitute_is_not_used_when_the_exact_version_can_be_fetched(hello_upstream, hello_catalog, go_env,
                                                                         registry_plain, tmp_path):
    reg = registry_plain
    cp = archport("port", "rancher/mirrored-example-hello:v1.2.3", "--arch", "riscv64", "--to",
                  f"{reg.host}/not-substituted", "--mirror", f"docker.io={reg.host}", "--mirror-only", "--catalog",
                  str(hello_catalog), "--cache-dir", str(tmp_path / "cache"), "--substitute", "hello=v1.2.5",
                  "--no-smoke", "--json", env=go_env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert "example.test/hello@v1.2.3" in r["reason"] and not any("instead of" in n for n in r["notes"]), r
