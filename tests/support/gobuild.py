"""Build Go programs with the real toolchain: the suite's one way to run ``go build``/``go install``.

    def test_x(gobuild):
        exe = gobuild("tests/fixtures/go/smokehello", "riscv64")

:func:`build` and :func:`install` are the two commands; :class:`GoBuilder` (the
``gobuild`` fixture) caches builds per (package, GOARCH, flags) for the session.
``CGO_ENABLED=0`` and ``GOOS=linux`` unless told otherwise.  ``toolchain``
selects another Go through ``GOTOOLCHAIN`` (fetched as the golang.org/toolchain
module through the module proxy); a go command older than ``-buildvcs`` then
runs with the user's go env file switched off (``GOENV=off``).  Fixture
packages have no dependencies, so :class:`GoBuilder` builds with
``GOPROXY=off``: the suite must not depend on the network for them.

The ``go_bins`` and ``c_bins`` fixtures are the real binaries the ELF, build
info and image-assembly tests read, compiled by the suite itself.  Go ones
come from tests/fixtures/go/hello (module example.com/hello with a local
``replace``, so no network for the module itself); the pre-1.18 build info
format comes from a real go1.17.13 (:data:`OLD_GO`), fetched as the
golang.org/toolchain module through the Go module proxy; its ``go`` command
predates ``-buildvcs``, so the user's go env file is switched off for it
(``GOENV=off``).  C ones come from tests/fixtures/c with the host gcc and
riscv64-linux-gnu-gcc.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OLD_GO = "go1.17.13"   # the last release before the 1.18 build-info format


def go_binary() -> str:
    found = shutil.which("go") or ("/usr/local/go/bin/go" if os.path.exists("/usr/local/go/bin/go") else None)
    if not found:
        raise RuntimeError("the Go toolchain is not installed (scripts/test-deps.sh installs it)")
    return found


def _env(base: dict[str, str] | None, goarch: str, goos: str, cgo: bool, toolchain: str | None,
         extra: dict[str, str] | None) -> dict[str, str]:
    env = {**(os.environ if base is None else base), "GOOS": goos, "GOARCH": goarch,
           "CGO_ENABLED": "1" if cgo else "0", "GOTOOLCHAIN": toolchain or "local"}
    if toolchain:
        env["GOENV"] = "off"          # an older go command may not parse this user's go env file
    env.update(extra or {})
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str], what: str, timeout: float) -> None:
    cp = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if cp.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{cp.stderr}")


def build(package: str | Path, goarch: str, out: Path, *, flags: list[str] = (), goos: str = "linux",
          cgo: bool = False, toolchain: str | None = None, env: dict[str, str] | None = None,
          extra_env: dict[str, str] | None = None, timeout: float = 900) -> Path:
    """``go build FLAGS -o OUT .`` in ``package`` for GOOS/GOARCH; returns ``out``."""
    pkg = (REPO / package) if not Path(package).is_absolute() else Path(package)
    e = _env(env, goarch, goos, cgo, toolchain, extra_env)
    vcs = [] if toolchain else ["-buildvcs=false"]   # older go commands lack the flag
    _run([go_binary(), "build", *vcs, *flags, "-o", str(out), "."], pkg, e,
         f"go build {pkg.name} for {goos}/{goarch}", timeout)
    return out


def install(module_at_version: str, goarch: str, out: Path, *, flags: list[str] = (),
            toolchain: str | None = None, env: dict[str, str] | None = None, timeout: float = 1200) -> Path:
    """``go install FLAGS MODULE@VERSION`` for linux/GOARCH into a GOPATH under
    ``out`` (build info then names the module's version, as in a release
    build); returns the binary."""
    gopath = out / f"gopath-{goarch}"
    e = _env(env, goarch, "linux", False, toolchain, {"GOPATH": str(gopath)})
    e.pop("GOBIN", None)
    _run([go_binary(), "install", *flags, module_at_version], out, e, f"go install {module_at_version}", timeout)
    name = module_at_version.split("@")[0].rsplit("/", 1)[-1]
    host = subprocess.run([go_binary(), "env", "GOHOSTARCH"], capture_output=True, text=True).stdout.strip()
    return gopath / "bin" / (name if goarch == host else f"linux_{goarch}/{name}")


class GoBuilder:
    def __init__(self, out: Path) -> None:
        self.out = out
        self._cache: dict[tuple, Path] = {}

    def __call__(self, package: str | Path, goarch: str, *, ldflags: str = "", tags: str = "",
                 cgo: bool = False, goos: str = "linux", trimpath: bool = True,
                 extra_env: dict[str, str] | None = None) -> Path:
        pkg = (REPO / package) if not Path(package).is_absolute() else Path(package)
        key = (str(pkg), goos, goarch, ldflags, tags, cgo, trimpath, tuple(sorted((extra_env or {}).items())))
        if key in self._cache:
            return self._cache[key]
        flags = (["-trimpath"] if trimpath else []) + (["-ldflags", ldflags] if ldflags else []) \
            + (["-tags", tags] if tags else [])
        exe = build(pkg, goarch, self.out / f"{pkg.name}-{goos}-{goarch}-{len(self._cache)}", flags=flags,
                    goos=goos, cgo=cgo, timeout=600,
                    extra_env={"GOFLAGS": "-mod=mod", "GOPROXY": "off", **(extra_env or {})})
        self._cache[key] = exe
        return exe


@pytest.fixture(scope="session")
def gobuild(tmp_path_factory) -> GoBuilder:
    return GoBuilder(tmp_path_factory.mktemp("gobuild"))


# -- the fixture binaries: tests/fixtures/go/hello and tests/fixtures/c/hello.c --------

FIXTURES = REPO / "tests" / "fixtures"
HELLO = FIXTURES / "go" / "hello"
HELLO_C = FIXTURES / "c" / "hello.c"
LDFLAGS = "-X main.version=1.2.3"

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
        pytest.fail(f"{tool} is required by the suite's binary fixtures (install it; these tests never skip)")
    return path


def go_build(out: Path, goarch: str, env_extra: dict[str, str], flags: list[str], toolchain: str | None) -> Path:
    """One fixture binary of tests/fixtures/go/hello for ``goarch`` (a failed build fails the test)."""
    _need("go")
    try:
        return build(HELLO, goarch, out, flags=flags, toolchain=toolchain, extra_env=env_extra)
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
