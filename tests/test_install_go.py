"""scripts/install-go.sh, which scripts/test-deps.sh runs: where the only Go is
Debian bookworm's 1.19 (too old for port and for the suite), it installs the
Go the suite is run with from the Go module proxy, checked against its pinned
hash; where a new enough Go is there, it installs nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.clients import CACHE

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "install-go.sh"


def _fake_go(bin_dir: Path, version: str) -> None:
    """A `go` that says it is ``version`` (`go env GOVERSION`) and, like any
    Go, names its default module proxy (`go env GOPROXY`): this machine's."""
    proxy = subprocess.run(["go", "env", "GOPROXY"], capture_output=True, text=True, check=True).stdout.strip()
    bin_dir.mkdir(parents=True)
    (bin_dir / "go").write_text(f'#!/bin/sh\n[ "$2" = GOPROXY ] && echo "{proxy}" || echo go{version}\n')
    (bin_dir / "go").chmod(0o755)


def _run(tmp_path: Path, path_dirs: list[Path], *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": ":".join([*map(str, path_dirs), "/usr/bin", "/bin"]), "HOME": str(tmp_path),
           "ARCHPORT_GO_CACHE": str(CACHE / "go-toolchain"), "PYTHON": os.path.realpath(sys.executable)}
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=900)


def test_with_only_debian_go_1_19_a_go_port_accepts_is_installed(tmp_path):
    _fake_go(tmp_path / "debian", "1.19.8")
    dest = tmp_path / "usr-local" / "go"
    p = _run(tmp_path, [tmp_path / "debian"], "--if-needed", str(dest))
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"{dest}/bin/go"
    assert "from the Go module proxy" in p.stderr and "into " + str(dest) in p.stderr
    version = subprocess.run([str(dest / "bin" / "go"), "env", "GOVERSION"], capture_output=True, text=True,
                             env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GOTOOLCHAIN": "local"},
                             check=True).stdout.strip()
    major, minor = (int(x) for x in version.removeprefix("go").split(".")[:2])
    assert (major, minor) >= (1, 25), version
    assert not [q for q in dest.parent.iterdir() if q.name.startswith(".install-go")]   # no leftovers


def test_a_new_enough_go_is_kept(tmp_path):
    _fake_go(tmp_path / "newer", "1.26.0")
    dest = tmp_path / "usr-local" / "go"
    p = _run(tmp_path, [tmp_path / "newer"], "--if-needed", str(dest))
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(tmp_path / "newer" / "go") and "nothing to install" in p.stderr
    assert not dest.exists()


def test_without_a_proxy_or_a_go_it_says_what_to_do(tmp_path):
    dest = tmp_path / "usr-local" / "go"
    tools = tmp_path / "bin"          # what the script runs before it looks for a proxy, and no go
    tools.mkdir()
    for name in ("uname", "dirname", "sed", "sort", "head", "mktemp"):
        (tools / name).symlink_to(shutil.which(name))
    env = {"PATH": str(tools), "HOME": str(tmp_path), "PYTHON": os.path.realpath(sys.executable)}
    p = subprocess.run(["/bin/bash", str(SCRIPT), str(dest)], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 1 and "set GOPROXY" in p.stderr, p.stderr
    assert not dest.exists()
