"""Stand-in "upstream" images, built here because Docker Hub is not reachable.

Go components: the REAL module at the real version, fetched through the Go
module proxy and built for linux/amd64 the way upstream's build files do
(flags and toolchain are data in the release script, each with its source),
then laid out like upstream's image (binary path, Entrypoint/Cmd, User) and
pushed with skopeo under the rancher/… name of the k3s image list.

C and deb components (pause, busybox): archport builds their riscv64 image
from source or from a Debian package, never from the upstream binary, so the
stand-ins only need upstream's shape (paths, config, amd64 + arm64 entries to
append to).  Their binaries are tiny Go programs written here and say so
when run: they are not upstream's pause or busybox.

Images are written with tests/support/images.py (plain tarfile/json, not
archport's own builder) so a bug in archport cannot hide in its input.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from archport.strategies.gocompile import writable_copy
from tests.support import images

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Built:
    binary: Path
    seconds: float
    toolchain: str          # `go version` of the binary's toolchain
    command: str            # the go build command line, for the record


class Unavailable(Exception):
    """The module proxy does not serve this module version (message: go's own error)."""


def go() -> str:
    found = shutil.which("go") or "/usr/local/go/bin/go"
    if not os.path.exists(found):
        raise RuntimeError("the Go toolchain (go) is not installed")
    return found


def proxies_only(goproxy: str) -> str:
    """GOPROXY without ``direct``/``off``: traffic stays on the module proxy
    (a ``direct`` fallback would fetch from the modules' own hosts)."""
    kept = []
    for entry in goproxy.replace("|", ",").split(","):
        entry = entry.strip()
        if entry in ("direct", "off"):
            break
        if entry:
            kept.append(entry)
    if not kept:
        raise RuntimeError(f"GOPROXY={goproxy!r} names no module proxy")
    return ",".join(kept)


def go_env(base: dict[str, str]) -> dict[str, str]:
    """The environment for every go command of the run (stand-ins and archport)."""
    env = dict(base)
    configured = subprocess.run([go(), "env", "GOPROXY"], capture_output=True, text=True, env=env,
                                check=True).stdout.strip()
    env["GOPROXY"] = proxies_only(configured)
    return env


def download(module: str, version: str, env: dict, cwd: Path) -> dict:
    """``go mod download -json MODULE@VERSION``; raises :class:`Unavailable`
    with go's exact error when the proxy refuses it."""
    cp = subprocess.run([go(), "mod", "download", "-json", f"{module}@{version}"], capture_output=True,
                        text=True, env=env, cwd=cwd, timeout=1800)
    try:
        doc = json.loads(cp.stdout)
    except json.JSONDecodeError:
        raise Unavailable((cp.stderr or cp.stdout).strip()) from None
    if doc.get("Error") or not doc.get("Dir"):
        raise Unavailable(doc.get("Error") or "no Dir in go mod download output")
    return doc


def served_versions(module: str, env: dict, cwd: Path) -> list[str]:
    cp = subprocess.run([go(), "list", "-m", "-json", "-versions", module], capture_output=True, text=True,
                        env=env, cwd=cwd, timeout=600)
    if cp.returncode != 0:
        return []
    return list(json.loads(cp.stdout).get("Versions") or [])


def _semver(v: str) -> tuple[int, ...]:
    core = v.lstrip("v").split("-")[0].split("+")[0]
    return tuple(int(x) for x in core.split(".") if x.isdigit())


def nearest(wanted: str, versions: list[str]) -> str | None:
    """The served release closest to ``wanted``: the lowest newer one, else the
    highest older one (pre-releases skipped)."""
    releases = [v for v in versions if "-" not in v]
    newer = sorted((v for v in releases if _semver(v) > _semver(wanted)), key=_semver)
    older = sorted((v for v in releases if _semver(v) < _semver(wanted)), key=_semver)
    return newer[0] if newer else (older[-1] if older else None)


def build_module(info: dict, work: Path, *, package: str, ldflags: str, trimpath: bool, toolchain: str,
                 goarch: str, env: dict) -> Built:
    """Build the downloaded module (``info`` from :func:`download`) from a
    writable copy of its tree, as upstream builds from its checkout."""
    src = work / "src"
    if src.exists():
        shutil.rmtree(src)
    writable_copy(info["Dir"], src)
    vendor = src / "vendor"
    if vendor.is_dir() and not any(p.is_dir() for p in vendor.iterdir()):
        shutil.rmtree(vendor)                       # module zips keep only vendor/modules.txt
    out = work / f"bin-{goarch}"
    cmd = [go(), "build", "-mod=mod", "-o", str(out)]
    if trimpath:
        cmd.append("-trimpath")
    if ldflags:
        cmd += ["-ldflags", ldflags]
    cmd.append(package)
    # GOFLAGS set (an empty value would fall back to the go env file, whose
    # -buildvcs=false Go 1.17 rejects: "unknown flag -buildvcs").
    e = {**env, "GOFLAGS": "-mod=mod", "GOOS": "linux", "GOARCH": goarch, "CGO_ENABLED": "0", "GOTOOLCHAIN": toolchain}
    started = time.monotonic()
    cp = subprocess.run(cmd, cwd=src, env=e, capture_output=True, text=True, timeout=3600)
    seconds = time.monotonic() - started
    if cp.returncode != 0:
        raise RuntimeError(f"stand-in build of {info['Path']}@{info['Version']} failed:\n{cp.stderr[-3000:]}")
    version = subprocess.run([go(), "version", str(out)], capture_output=True, text=True, env=e).stdout.strip()
    shutil.rmtree(src)
    return Built(out, seconds, version.rsplit(" ", 1)[-1],
                 " ".join(c if " " not in c else repr(c) for c in cmd[1:]))


# -- tiny programs for the shape-only stand-ins ---------------------------------------

_PAUSE = """package main

// Stand-in for the upstream pause binary (archport acceptance): waits for
// SIGINT/SIGTERM like pause does; "-v" prints what it is.
import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-v" {
		fmt.Println("archport stand-in pause (not upstream)")
		return
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	<-c
}
"""

_BUSYBOX = """package main

// Stand-in for the upstream busybox binary (archport acceptance): not a shell.
import "fmt"

func main() { fmt.Println("archport stand-in busybox (not upstream)") }
"""

PROGRAMS = {"pause": _PAUSE, "busybox": _BUSYBOX}


def build_tiny(name: str, goarch: str, work: Path, env: dict) -> Path:
    src = work / f"tiny-{name}"
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text(f"module archport.test/standin/{name}\n\ngo 1.20\n")
    (src / "main.go").write_text(PROGRAMS[name])
    out = work / f"{name}-{goarch}"
    e = {**env, "GOFLAGS": "-mod=mod", "GOOS": "linux", "GOARCH": goarch, "CGO_ENABLED": "0", "GOPROXY": "off",
         "GOTOOLCHAIN": "local"}
    cp = subprocess.run([go(), "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", str(out), "."],
                        cwd=src, env=e, capture_output=True, text=True, timeout=600)
    if cp.returncode != 0:
        raise RuntimeError(f"stand-in {name} for {goarch} failed:\n{cp.stderr}")
    return out


# -- images -----------------------------------------------------------------------------

def push(work: Path, registry_host: str, repo_tag: str, per_arch: dict[str, dict], config: dict) -> dict:
    """An index of one image per architecture (``per_arch``: arch -> files for
    ``images.layer_from_files``), pushed digest-preserved with skopeo.
    Returns {platform: manifest digest} and the index digest."""
    imgs = [images.make_image(f"linux/{arch}", [images.layer_from_files(files)], config=config)
            for arch, files in per_arch.items()]
    top = images.make_index(imgs)
    layout = images.write_layout(work / ("layout-" + repo_tag.replace("/", "_").replace(":", "_")),
                                 {"t": (top, imgs)})
    images.push(layout, "t", f"{registry_host}/{repo_tag}")
    return {"index": top.digest, **{f"linux/{img.platform[1]}": img.manifest.digest for img in imgs}}
