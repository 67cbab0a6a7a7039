"""Real binaries for the build tests, compiled by the suite itself.

Go fixtures come from tests/fixtures/go/hello (module example.com/hello with a
local ``replace``, so no network for the module itself).  The pre-1.18 build
info format comes from a real go1.17.13, fetched as the golang.org/toolchain
module through the Go module proxy (``GOTOOLCHAIN=go1.17.13``); its ``go``
command predates ``-buildvcs``, so the user's go env file is switched off for
it (``GOENV=off``).  C fixtures come from tests/fixtures/c with the host gcc
and riscv64-linux-gnu-gcc.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import gobuild

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HELLO = FIXTURES / "go" / "hello"
HELLO_C = FIXTURES / "c" / "hello.c"
LDFLAGS = "-X main.version=1.2.3"
OLD_GO = gobuild.OLD_GO

# name -> (GOARCH, extra env, go build flags, toolchain)
GO_BUILDS: dict[str, tuple[str, dict[str, str], list[str], str | None]] = {
    "riscv64": ("riscv64", {}, ["-tags", "fixture", "-ldflags", LDFLAGS], None),
    "amd64-trimpath": ("amd64", {}, ["-trimpath", "-ldflags", LDFLAGS], None),
    "arm64": ("arm64", {}, ["-ldflags", LDFLAGS], None),
    "armv7": ("arm", {"GOARM": "7"}, ["-tags", "fixture"], None),
    "go117-arm64": ("arm64", {}, ["-tags", "fixture", "-ldflags", LDFLAGS], OLD_GO),
    "go117-386": ("386", {}, [], OLD_GO),          # 4-byte pointers
    "go117-s390x": ("s390x", {}, [], OLD_GO),      # big-endian pointers
}


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is required by tests/build (install it; these tests never skip)")
    return path


def go_build(out: Path, goarch: str, env_extra: dict[str, str], flags: list[str], toolchain: str | None) -> Path:
    """One fixture binary of tests/fixtures/go/hello (the suite's one ``go build``)."""
    _need("go")
    try:
        return gobuild.build(HELLO, goarch, out, flags=flags, toolchain=toolchain, extra_env=env_extra)
    except RuntimeError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def go_bins(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("go")
    return {name: go_build(d / name, *spec) for name, spec in GO_BUILDS.items()}


@pytest.fixture(scope="session")
def c_bins(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("c")
    builds = {
        "amd64-static": ["gcc", "-static"],
        "amd64-dynamic": ["gcc"],
        "riscv64-static": ["riscv64-linux-gnu-gcc", "-static"],
        "riscv64-dynamic": ["riscv64-linux-gnu-gcc"],
    }
    out = {}
    for name, (cc, *flags) in builds.items():
        _need(cc)
        subprocess.run([cc, *flags, "-O2", "-o", str(d / name), str(HELLO_C)], check=True, timeout=300)
        out[name] = d / name
    return out
