"""go: the parts of the build recipe that follow the upstream binary (no module download)."""

from __future__ import annotations

from pathlib import Path

from archport.binaries.buildinfo import BuildInfo, Module, read_buildinfo
from archport.strategies.gobuild import trimpath_of
from archport.toolchain.gocompile import Recipe, build_command


def _recipe(**kw) -> Recipe:
    base = dict(module="example.test/hello", version="v1.2.3", package="example.test/hello", ldflags="-s -w",
                tags=("netgo",), binary="/usr/bin/hello", origin="test")
    return Recipe(**{**base, **kw})


def _info(*settings: tuple[str, str]) -> BuildInfo:
    return BuildInfo("go1.22.0", "example.test/hello", Module("example.test/hello", "v1.2.3"), (), settings)


def test_trimpath_follows_the_upstream_build_info():
    assert trimpath_of(_info(("-trimpath", "true"), ("GOARCH", "amd64"))) is True
    assert trimpath_of(_info(("-ldflags", "-X main.v=1"), ("GOARCH", "amd64"))) is False
    # Nothing to read (Go < 1.18 records no settings; no binary at all): trimmed.
    assert trimpath_of(_info()) is True
    assert trimpath_of(None) is True


def test_build_command_adds_trimpath_only_when_upstream_had_it(tmp_path):
    out = tmp_path / "binary"
    trimmed = build_command("go", _recipe(), out, ".", vendored=False, extra=["-X main.x=y"])
    assert trimmed == ["go", "build", "-trimpath", "-buildvcs=false", "-o", str(out), "-mod=mod",
                       "-tags", "netgo", "-ldflags", "-s -w -X main.x=y", "."]
    plain = build_command("go", _recipe(trimpath=False, tags=(), ldflags=""), out, "./cmd/x", vendored=True, extra=[])
    assert plain == ["go", "build", "-buildvcs=false", "-o", str(out), "./cmd/x"]


def test_real_build_info_says_whether_upstream_trimmed(gobuild):
    """The whole chain on binaries from the real go command."""
    with_trim = Path(gobuild("tests/fixtures/go/hello", "amd64", trimpath=True))
    without = Path(gobuild("tests/fixtures/go/hello", "amd64", trimpath=False))
    assert trimpath_of(read_buildinfo(with_trim.read_bytes())) is True
    assert trimpath_of(read_buildinfo(without.read_bytes())) is False
