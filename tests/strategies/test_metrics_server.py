"""metrics-server v0.9.0 (k3s v1.35 to v1.37), as upstream builds it, taken
through ``--substitute metrics-server=v0.8.0`` where the proxy does not give
v0.9.0: the recipe is the catalog's for v0.9.0 (its module, package and -X
templates), the version built is v0.8.0, and the result says so.  No
compiler runs here: the recipe is what ``prepare`` hands the build."""

from __future__ import annotations

import shutil
from pathlib import Path

from archport.catalog.loader import load
from archport.errors import NotPortable
from archport.fetch.goproxy import escape
from archport.platform import parse as parse_platform
from archport.strategies.gobuild import GoStrategy
from tests.support.port import go_env_value

from .helpers import env, upstream

RISCV = parse_platform("linux/riscv64")
MODULE = "sigs.k8s.io/metrics-server"
REF = "rancher/mirrored-metrics-server:v0.9.0"


def _proxy_with_v0_8_0_only(tmp_path) -> Path:
    """A file proxy that has v0.8.0 (from this machine's module cache, where
    the test bed's stand-ins put it) and no v0.9.0."""
    cached = Path(go_env_value("GOMODCACHE")) / "cache" / "download" / escape(MODULE) / "@v"
    if not (cached / "v0.8.0.zip").is_file():
        from archport.fetch.goproxy import download_module
        download_module(shutil.which("go") or "go", {"PATH": "/usr/local/go/bin:/usr/bin:/bin",
                                                     "HOME": str(Path.home()),
                                                     "GOMODCACHE": go_env_value("GOMODCACHE"),
                                                     "GOPROXY": go_env_value("GOPROXY")},
                        MODULE, "v0.8.0", tmp_path)
    d = tmp_path / "proxy" / escape(MODULE) / "@v"
    d.mkdir(parents=True)
    for ext in ("info", "mod", "zip"):
        shutil.copyfile(cached / f"v0.8.0.{ext}", d / f"v0.8.0.{ext}")
    (d / "list").write_text("v0.8.0\n")
    return tmp_path / "proxy"


def _env(tmp_path, **flags):
    go_env = {"PATH": "/usr/local/go/bin:/usr/bin:/bin", "HOME": str(Path.home()),
              "GOPROXY": f"file://{_proxy_with_v0_8_0_only(tmp_path)}", "GOFLAGS": "-mod=mod",
              "GOMODCACHE": str(tmp_path / "modcache"), "GOCACHE": go_env_value("GOCACHE"),
              "GOTOOLCHAIN": "local", "GOSUMDB": go_env_value("GOSUMDB")}
    return env(tmp_path / "work", go_env=go_env, **flags)


def test_the_catalog_builds_v0_9_0_as_its_makefile_does():
    comp = load().component("metrics-server")
    gb = comp.go_build("v0.9.0")
    assert gb.module == MODULE and gb.package == "./cmd/metrics-server" and not gb.cgo
    assert "v0.9.0/Makefile" in gb.source.url
    assert gb.ldflags_for({"tag": "v0.9.0", "commit": "c", "date": "d"}) == (
        "-w", "-X", "k8s.io/client-go/pkg/version.gitVersion=v0.9.0",
        "-X", "k8s.io/client-go/pkg/version.gitCommit=c", "-X", "k8s.io/client-go/pkg/version.buildDate=d")
    contract = comp.contract("v0.9.0")
    assert contract.binary == "/metrics-server" and contract.user == "65534"
    assert "linux/riscv64" not in contract.upstream_platforms
    assert comp.substitute_for(MODULE, "v0.9.0").version == "v0.8.0"


def test_v0_9_0_through_the_substitute_v0_8_0_is_recorded(tmp_path):
    up = upstream(REF, "metrics-server", None)        # no upstream riscv64 image: the catalog's recipe
    prepared = GoStrategy().prepare(up, RISCV, _env(tmp_path, substitutes={"metrics-server": "v0.8.0"}), None)
    recipe = prepared.context[0]
    assert prepared.inputs["version"] == "v0.8.0" and recipe.module == MODULE
    assert recipe.package == f"{MODULE}/cmd/metrics-server"
    assert "built sigs.k8s.io/metrics-server@v0.8.0 instead of v0.9.0" in recipe.substituted, recipe.substituted
    assert "--substitute metrics-server=v0.8.0" in recipe.substituted
    # the version string the binary prints is the one really built
    assert "k8s.io/client-go/pkg/version.gitVersion=v0.8.0" in recipe.ldflags, recipe.ldflags
    assert "version v0.8.0 by --substitute" in recipe.origin


def test_without_the_flag_the_refusal_names_the_catalogs_proposal(tmp_path):
    up = upstream(REF, "metrics-server", None)
    e = _env(tmp_path)
    st = GoStrategy()
    prepared = st.prepare(up, RISCV, e, None)
    assert prepared.inputs["version"] == "v0.9.0"
    try:
        st.make(prepared, RISCV, e)
    except NotPortable as err:
        said = f"{err.reason} {err.next_step}"
    else:
        raise AssertionError("v0.9.0 was built from a proxy that does not have it")
    assert "sigs.k8s.io/metrics-server@v0.9.0" in said, said
    assert "--substitute metrics-server=v0.8.0" in said, said
