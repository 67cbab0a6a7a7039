"""Build small Go programs with the real toolchain, once per session.

    def test_x(gobuild):
        exe = gobuild("tests/fixtures/go/smokehello", "riscv64")

Builds are cached per (package, GOARCH, flags) for the session; ``CGO_ENABLED=0``
and ``GOOS=linux`` unless told otherwise; ``GOPROXY=off`` because fixtures
have no dependencies and the suite must not depend on the network for them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def go_binary() -> str:
    found = shutil.which("go") or ("/usr/local/go/bin/go" if os.path.exists("/usr/local/go/bin/go") else None)
    if not found:
        raise RuntimeError("the Go toolchain is not installed (scripts/test-deps.sh installs it)")
    return found


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
        exe = self.out / f"{pkg.name}-{goos}-{goarch}-{len(self._cache)}"
        cmd = [go_binary(), "build", "-buildvcs=false", "-o", str(exe)]
        if trimpath:
            cmd.append("-trimpath")
        if ldflags:
            cmd += ["-ldflags", ldflags]
        if tags:
            cmd += ["-tags", tags]
        cmd.append(".")
        env = {**os.environ, "GOOS": goos, "GOARCH": goarch, "CGO_ENABLED": "1" if cgo else "0",
               "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local", **(extra_env or {})}
        cp = subprocess.run(cmd, cwd=pkg, env=env, capture_output=True, text=True, timeout=600)
        if cp.returncode != 0:
            raise RuntimeError(f"go build {pkg.name} for {goos}/{goarch} failed:\n{cp.stderr}")
        self._cache[key] = exe
        return exe


@pytest.fixture(scope="session")
def gobuild(tmp_path_factory) -> GoBuilder:
    return GoBuilder(tmp_path_factory.mktemp("gobuild"))
