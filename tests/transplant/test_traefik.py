"""traefik's shape, end to end, and the substitution policy.

The official traefik image is alpine:3.14 + ca-certificates + tzdata, the
release binary at /usr/local/bin/traefik and /entrypoint.sh (ENTRYPOINT
/entrypoint.sh, CMD traefik, EXPOSE 80).  The module proxy reachable here
refuses traefik v2.6.2 (403), so the stand-in's binary is a Go program whose
exact version the port's proxy cannot give either: example.test/hello at
v1.2.2, built from a private proxy that has it; the port's proxy only has
v1.2.3.  Without ``--substitute`` the port refuses, naming the binary; with
``--substitute hello=v1.2.3`` it builds v1.2.3 and says so in the result
and the image's annotations.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from archport.catalog.loader import load
from archport.toolchain.substitute import names, proposal, reversion
from tests.support.port import OLD_GO, go_env_value, go_install
from tests.support.port import skopeo_raw
from tests.support import goproxy
from tests.support.cli import archport
from standins import skopeo

from standins.debian import CACHE, PATH_ENV, debian_root, push, suite
from standins.debian import TRAEFIK_ENTRYPOINT as ENTRYPOINT

REF = "rancher/mirrored-library-traefik:2.6.2"
PACKAGES = ("busybox-static", "ca-certificates", "tzdata")
CONFIG = {"Entrypoint": ["/entrypoint.sh"], "Cmd": ["traefik"], "ExposedPorts": {"80/tcp": {}}, "Env": [PATH_ENV]}



@pytest.fixture(scope="module")
def traefik_standin(registry_plain, tmp_path_factory, go_env):
    tmp = tmp_path_factory.mktemp("traefik")
    fixtures = tmp / "gomod"
    shutil.copytree(goproxy.FIXTURES, fixtures)
    shutil.copytree(fixtures / "hello@v1.2.3", fixtures / "hello@v1.2.2")
    private = goproxy.build(tmp / "proxy", fixtures)
    env = {**go_env, "GOPROXY": f"file://{private},{go_env_value('GOPROXY')}"}
    per_arch = {}
    for arch in ("amd64", "arm64"):
        binary = go_install("example.test/hello@v1.2.2", arch, env, tmp, "-X main.version=2.6.2", OLD_GO)
        files = debian_root(arch, PACKAGES)
        files.update({"usr/local/bin/traefik": (binary.read_bytes(), 0o755), "entrypoint.sh": (ENTRYPOINT, 0o755)})
        per_arch[arch] = files
    # The port must not find v1.2.2 in the shared module cache either.
    cache = go_env_value("GOMODCACHE")
    for p in (f"{cache}/example.test/hello@v1.2.2", f"{cache}/cache/download/example.test/hello/@v"):
        subprocess.run(["chmod", "-R", "u+w", p], capture_output=True)
        if p.endswith("@v"):
            for f in Path(p).glob("v1.2.2.*"):
                f.unlink()
        else:
            shutil.rmtree(p, ignore_errors=True)
    push(tmp, registry_plain, REF, per_arch, CONFIG)
    return registry_plain


def _port(reg, go_env, catalog, *extra):
    cp = archport("port", REF, "--arch", "riscv64", "--strategy", "transplant", "--to", f"{reg.host}/ported",
                  "--mirror", f"docker.io={reg.host}", "--mirror-only", "--cache-dir", str(CACHE / "port"),
                  "--debian-suite", suite(),
                  "--catalog", str(catalog), "--json", *extra, env=go_env, environ={}, expect=None, timeout=2400)
    doc = json.loads(cp.stdout)
    return cp.returncode, doc["images"][0] if "images" in doc else doc


def test_refused_version_is_named_then_substituted_and_recorded(traefik_standin, go_env, hello_catalog,
                                                                  containerd, binfmt_riscv64):
    reg = traefik_standin
    code, r = _port(reg, go_env, hello_catalog)
    assert code == 1 and r["status"] == "failed", r
    assert "/usr/local/bin/traefik: example.test/hello@v1.2.2 cannot be fetched" in r["reason"], r
    assert "--substitute hello=VERSION" in r["nextStep"], r
    assert skopeo_raw(f"{reg.host}/ported/{REF}") is None

    code, r = _port(reg, go_env, hello_catalog, "--substitute", "hello=v1.2.3")
    assert code == 0 and r["status"] == "ported" and r["strategy"] == "transplant", r
    assert r["check"].startswith("ok") and r["smoke"].startswith("ok (exit 0"), r
    assert "hello version=" in r["smokeOutput"] and "arch=riscv64" in r["smokeOutput"], r
    notes = " ".join(r["notes"])
    assert ("/usr/local/bin/traefik: built example.test/hello@v1.2.3 instead of v1.2.2 "
            "(--substitute hello=v1.2.3; v1.2.2 could not be fetched") in notes, notes
    man = skopeo_raw(f"{reg.host}/ported/rancher/mirrored-library-traefik@{r['platformDigest']}")
    assert "instead of v1.2.2" in man["annotations"]["io.archport.substituted"]

    dest = f"{reg.host}/ported/{REF}"
    s = archport("smoke", dest, "--containerd-address", containerd.address, "--expect", r"args=\[version\]",
                 "--json", "--", "traefik", "version", expect=None, timeout=600)
    assert s.returncode == 0, s.stdout + s.stderr
    cfg = skopeo.config(f"docker://{dest}", "--tls-verify=false", arch="riscv64")["config"]
    assert cfg["Entrypoint"] == ["/entrypoint.sh"] and cfg["Cmd"] == ["traefik"]
    assert cfg["ExposedPorts"] == {"80/tcp": {}}


def test_bad_substitute_is_bad_input(go_env):
    cp = archport("port", REF, "--to", "oci:/tmp/x", "--substitute", "traefik", expect=2, env=go_env, environ={})
    assert "NAME=VERSION" in cp.stderr + cp.stdout


def test_the_catalog_proposes_but_never_applies():
    cat = load()
    p = proposal(cat, "github.com/traefik/traefik/v2", "v2.6.2")
    assert p is not None and p.version == "v2.10.4" and p.source.url.startswith("https://")
    assert proposal(cat, "github.com/traefik/traefik/v2", "v2.10.4") is None
    assert names("github.com/traefik/traefik/v2", "/usr/local/bin/traefik") == ("github.com/traefik/traefik/v2",
                                                                               "traefik")
    assert names("helm.sh/helm/v3", "/usr/bin/helm_v3") == ("helm.sh/helm/v3", "helm", "helm_v3")
    flags = "-X github.com/traefik/traefik/v2/pkg/version.Version=2.6.2"
    assert reversion(flags, "v2.6.2", "v2.10.4").endswith("Version=2.10.4")


def test_the_real_traefik_recipe_is_refused_with_the_catalogs_proposal(registry_plain, tmp_path, go_env):
    """The official image's traefik has no version in its build info, so the
    catalog's [[binary]] names what to build: github.com/traefik/traefik/v2
    at the tag's version.  That version cannot be fetched (GOPROXY=off here,
    so the answer does not depend on a public proxy; the one reachable from
    this machine answers 403 for v2.6.2): the port refuses and passes on the
    catalog's proposal, applying nothing."""
    per_arch = {}
    for arch in ("amd64", "arm64"):
        files = debian_root(arch, ("busybox-static",))
        files.update({"usr/local/bin/traefik": (b"\x7fELF\x02\x01\x01" + b"\0" * 120, 0o755),
                      "entrypoint.sh": (ENTRYPOINT, 0o755)})
        per_arch[arch] = files
    push(tmp_path, registry_plain, "official/rancher/mirrored-library-traefik:2.6.2", per_arch, CONFIG)
    env = {**go_env, "GOPROXY": "off"}
    cp = archport("port", f"{registry_plain.host}/official/rancher/mirrored-library-traefik:2.6.2",
                  "--strategy", "transplant", "--to", f"{registry_plain.host}/ported-official",
                  "--cache-dir", str(CACHE / "port"), "--debian-suite", suite(), "--json",
                  env=env, environ={}, expect=1, timeout=600)
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "failed", r
    assert "/usr/local/bin/traefik: github.com/traefik/traefik/v2@v2.6.2 cannot be fetched" in r["reason"], r
    assert "the catalog proposes github.com/traefik/traefik/v2 v2.10.4" in r["nextStep"], r
    assert "--substitute traefik=v2.10.4" in r["nextStep"], r
