"""Stand-ins for the Go components of k3s's image list: the REAL module at the
real version, fetched through the Go module proxy and built for linux/amd64
(and arm64) the way upstream's build files do.  Flags and toolchain are data
here (:data:`GO_RECIPES`, each with its source); the test bed's UPSTREAM and
the acceptance run both read them.  Where the proxy refuses a version,
:func:`served_version` picks the nearest one it serves, and says why.

The images around these binaries keep upstream's shape (binary path,
Entrypoint/Cmd, User); :mod:`standins.images` writes them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from archport.toolchain.gocompile import writable_copy


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


def semver(v: str) -> tuple[int, ...]:
    core = v.lstrip("v").split("-")[0].split("+")[0]
    return tuple(int(x) for x in core.split(".") if x.isdigit())


def nearest(wanted: str, versions: list[str]) -> str | None:
    """The served release closest to ``wanted``: the lowest newer one, else the
    highest older one (pre-releases skipped)."""
    releases = [v for v in versions if "-" not in v]
    newer = sorted((v for v in releases if semver(v) > semver(wanted)), key=semver)
    older = sorted((v for v in releases if semver(v) < semver(wanted)), key=semver)
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


def _target(module: str, package: str) -> str:
    return module if package in ("", ".") else f"{module}/{package.removeprefix('./')}"


def _install_env(env: dict, goarch: str, toolchain: str, gopath: Path) -> dict:
    modcache = subprocess.run([go(), "env", "GOMODCACHE"], capture_output=True, text=True, env=env,
                              check=True).stdout.strip()
    # GOFLAGS set: install refuses -mod=mod, and the go env file's -buildvcs=false
    # is unknown to Go 1.17.  GOBIN unset: go installs a cross build under bin/linux_ARCH.
    e = {k: v for k, v in env.items() if k != "GOBIN"}
    e.update(GOFLAGS="-mod=readonly", GOOS="linux", GOARCH=goarch, CGO_ENABLED="0", GOTOOLCHAIN=toolchain,
             GOPATH=str(gopath), GOMODCACHE=modcache)
    return e


def fetch_module(module: str, version: str, work: Path, *, package: str, toolchain: str, goarch: str,
                 env: dict) -> None:
    """What :func:`install_module` downloads (the toolchain, the module and its
    dependencies), compiling nothing: ``go install -n``."""
    target = _target(module, package)
    cp = subprocess.run([go(), "install", "-n", f"{target}@{version}"], cwd=work, capture_output=True, text=True,
                        env=_install_env(env, goarch, toolchain, work / f"gopath-{goarch}"), timeout=1800)
    if cp.returncode != 0:
        raise RuntimeError(f"fetching {target}@{version} for {goarch} failed:\n{cp.stderr[-2000:]}")


def install_module(module: str, version: str, work: Path, *, package: str, ldflags: str, trimpath: bool,
                   toolchain: str, goarch: str, env: dict) -> Built:
    """``go install MODULE/PACKAGE@VERSION`` for ``goarch``: unlike a build in
    an extracted tree, the binary's build info then records the module's
    version, so a binary standing in for another tag still says what it is.
    The module's go.mod must have no ``replace`` (go install refuses those)."""
    gopath = work / f"gopath-{goarch}"
    if gopath.exists():
        shutil.rmtree(gopath, ignore_errors=True)
    target = _target(module, package)
    cmd = [go(), "install"]
    if trimpath:
        cmd.append("-trimpath")
    if ldflags:
        cmd += ["-ldflags", ldflags]
    cmd.append(f"{target}@{version}")
    e = _install_env(env, goarch, toolchain, gopath)
    started = time.monotonic()
    cp = subprocess.run(cmd, cwd=work, env=e, capture_output=True, text=True, timeout=3600)
    seconds = time.monotonic() - started
    if cp.returncode != 0:
        raise RuntimeError(f"stand-in install of {target}@{version} for {goarch} failed:\n{cp.stderr[-3000:]}")
    name = target.rstrip("/").rsplit("/", 1)[-1]
    host = subprocess.run([go(), "env", "GOHOSTARCH"], capture_output=True, text=True, env=e).stdout.strip()
    built = gopath / "bin" / (name if goarch == host else f"linux_{goarch}/{name}")
    out = work / f"bin-{name}-{goarch}"
    shutil.copyfile(built, out)
    out.chmod(0o755)
    version_line = subprocess.run([go(), "version", str(out)], capture_output=True, text=True, env=e).stdout.strip()
    shutil.rmtree(gopath, ignore_errors=True)       # after `go version`: a toolchain switch writes sumdb state
    return Built(out, seconds, version_line.rsplit(" ", 1)[-1],
                 " ".join(c if " " not in c else repr(c) for c in cmd[1:]))


# -- the Go components' recipes, shared by the test bed's UPSTREAM and acceptance --------

@dataclass(frozen=True)
class GoRecipe:
    """How upstream builds one Go component's image (facts from ``source``);
    ``{version}`` in ``ldflags`` is the module version actually built."""

    module: str
    package: str
    ldflags: str
    trimpath: bool
    toolchain: str                      # GOTOOLCHAIN
    files: tuple[tuple[str, str], ...]  # extra image files: (path, "certs" | "passwd" | "group")
    source: str


GO_RECIPES = {
    "rancher/mirrored-coredns-coredns": GoRecipe(
        "github.com/coredns/coredns", ".", "-s -w -X github.com/coredns/coredns/coremain.GitCommit=standin", False,
        "go1.17.13", (("etc/ssl/certs/ca-certificates.crt", "certs"),),
        "coredns v1.9.1 Makefile (CGO_ENABLED=0, -ldflags \"-s -w -X …coremain.GitCommit=$(GITCOMMIT)\", no "
        "-trimpath) and Dockerfile (scratch, /etc/ssl/certs, /coredns); go.mod says go 1.17, so Go 1.17 (patch "
        "release ours); GitCommit is 'standin', not upstream's hash"),
    "rancher/local-path-provisioner": GoRecipe(
        "github.com/rancher/local-path-provisioner", ".", "-X main.VERSION={version} -extldflags -static -s -w",
        False, "local", (),
        "local-path-provisioner scripts/build (CGO_ENABLED=0, -X main.VERSION) and package/Dockerfile (alpine, "
        "/usr/bin/local-path-provisioner; the stand-in has the binary only)"),
    "rancher/mirrored-metrics-server": GoRecipe(
        "sigs.k8s.io/metrics-server", "./cmd/metrics-server",
        "-w -X k8s.io/client-go/pkg/version.gitVersion={version} -X k8s.io/client-go/pkg/version.gitCommit=standin "
        "-X k8s.io/client-go/pkg/version.buildDate=2022-01-01T00:00:00Z", True, "local",
        (("etc/passwd", "passwd"), ("etc/group", "group")),
        "metrics-server Makefile (CGO_ENABLED=0, -trimpath, -X k8s.io/client-go/pkg/version.*) and Dockerfile "
        "(distroless static, /metrics-server, USER 65534); commit and date are placeholders"),
}

PASSWD = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
GROUP = "root:x:0:\nnobody:x:65534:\n"
CERTS = Path("/etc/ssl/certs/ca-certificates.crt")


def file_bytes(kind: str) -> bytes:
    return {"certs": CERTS.read_bytes() if CERTS.exists() else b"", "passwd": PASSWD.encode(),
            "group": GROUP.encode()}[kind]


def served_version(module: str, wanted: str, env: dict, work: Path) -> tuple[str, str]:
    """``wanted`` when the module proxy serves it, else the nearest version it
    does serve; returns (version, why) with go's own refusal in ``why``."""
    try:
        download(module, wanted, env, work)
        return wanted, ""
    except Unavailable as e:
        near = nearest(wanted, served_versions(module, env, work))
        if near is None:
            raise
        download(module, near, env, work)
        # go's error names the proxy's URL; keep only what the proxy said.
        said = str(e).rpartition("server response:")[2].strip() or "refused"
        return near, f"{module}@{wanted} is not served by the module proxy ({said.splitlines()[0]})"


# Tags whose stand-in is chosen, not refused: the proxy serves the tag's own
# version, but the machines that test archport build only approved releases.
# (module, tag's version) -> (version built, why).  One version standing in
# for several tags is one build (testbed.upstream.module_builds).
CHOSEN = {
    ("sigs.k8s.io/metrics-server", "v0.9.0"): (
        "v0.8.0", "sigs.k8s.io/metrics-server@v0.9.0 is served by the module proxy but is not an approved "
                  "release for these machines; v0.8.0 stands in for it, as for v0.5.2"),
}


def standin_version(module: str, wanted: str, env: dict, work: Path) -> tuple[str, str]:
    """The version built for the tag's ``wanted``: a :data:`CHOSEN` one, else
    :func:`served_version`'s."""
    chosen = CHOSEN.get((module, wanted))
    if chosen is not None:
        download(module, chosen[0], env, work)
        return chosen
    return served_version(module, wanted, env, work)
