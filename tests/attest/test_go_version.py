"""Rebuilt Go binaries name their main module's version, not ``(devel)``:
the build directory is a repository whose HEAD carries the upstream tag
(archport.toolchain.vcs), built with the real go command from the fixture
module proxy (tests/fixtures/gomod)."""

from __future__ import annotations

import subprocess

import pytest

from archport.binaries.buildinfo import read_buildinfo
from archport.catalog import versions
from archport.catalog.loader import extend, load
from archport.platform import Platform
from archport.toolchain import vcs
from archport.toolchain.gocompile import Recipe, Toolchain, build_binary
from archport.toolchain.gocompile import GoOptions
from tests.support import goproxy
from tests.support.gobuild import go_binary
from tests.support.port import HELLO_CATALOG, go_env_value

RISCV = Platform("linux", "riscv64")


def stamps(go: Toolchain) -> bool:
    """Go 1.24 and later stamp the main module's version from VCS; older ones say (devel)."""
    return versions.parse_go(go.version) >= versions.parse_go("1.24")


@pytest.fixture(scope="module")
def toolchain(tmp_path_factory):
    proxy = goproxy.build(tmp_path_factory.mktemp("goproxy"))
    env = {"PATH": "/usr/local/go/bin:/usr/bin:/bin", "HOME": str(tmp_path_factory.mktemp("home")),
           "GOPROXY": f"file://{proxy}", "GONOSUMDB": "example.test",
           "GOMODCACHE": go_env_value("GOMODCACHE"), "GOCACHE": go_env_value("GOCACHE"),
           "GOTOOLCHAIN": "local",
           # A user who switched VCS stamping off: the build's own flag wins.
           "GOFLAGS": "-mod=mod -buildvcs=false"}
    return Toolchain.for_options(GoOptions(env=env), lambda _m: None)


def _recipe(module: str, version: str) -> Recipe:
    return Recipe(module, version, module, "-s -w", (), "/usr/bin/x", "test")


def test_an_exact_build_names_the_upstream_version(toolchain, tmp_path):
    out, steps = build_binary(_recipe("example.test/isavec", "v1.0.0"), RISCV, toolchain, (), tmp_path,
                              lambda _m: None)
    info = read_buildinfo(out.read_bytes())
    assert steps == []
    assert info.main.path == "example.test/isavec"
    assert info.main.version == ("v1.0.0" if stamps(toolchain) else "(devel)")
    assert info.setting("vcs") == "git" and info.setting("vcs.modified") == "false"
    # go version -m (a reader archport did not write) says the same
    shown = subprocess.run([go_binary(), "version", "-m", str(out)], capture_output=True, text=True,
                           check=True).stdout
    assert f"\tmod\texample.test/isavec\t{info.main.version}" in shown


def test_a_build_with_fixups_says_dirty_and_lists_the_fixed_versions(toolchain, tmp_path):
    fixups = tuple(extend(load(), "hello.toml", HELLO_CATALOG).fixups)
    out, steps = build_binary(_recipe("example.test/hello", "v1.2.3"), RISCV, toolchain, fixups, tmp_path,
                              lambda _m: None)
    info = read_buildinfo(out.read_bytes())
    assert [s.fixup for s in steps] == ["netx-linkname-recvmsg"]
    # upstream's v1.2.3, changed here: Go's own word for it
    assert info.main.version == ("v1.2.3+dirty" if stamps(toolchain) else "(devel)")
    assert info.setting("vcs.modified") == "true"
    assert [(d.path, d.version) for d in info.deps] == [("example.test/netx", "v0.1.0")]


def test_the_commit_is_the_same_for_the_same_tree(toolchain, tmp_path):
    revs = []
    for n in (1, 2):
        d = tmp_path / f"t{n}"
        d.mkdir()
        (d / "go.mod").write_text("module example.test/same\n")
        assert vcs.tag_tree(d, "v0.3.0", toolchain.env) == ""
        revs.append(subprocess.run(["git", "rev-parse", "v0.3.0^{commit}"], cwd=d, capture_output=True, text=True,
                                   check=True).stdout)
    assert revs[0] == revs[1]


def test_versions_that_are_no_release_tags_are_left_alone():
    assert vcs.taggable("v1.2.3") and vcs.taggable("v2.0.0-rc.1")
    assert not vcs.taggable("v0.0.0-20220101000000-0123456789ab")
    assert not vcs.taggable("v1.2.4-0.20220101000000-0123456789ab")
    assert not vcs.taggable("v2.0.0+incompatible") and not vcs.taggable("(devel)")
