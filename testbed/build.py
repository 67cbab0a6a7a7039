"""The bed's components, built from their Go modules and cached by version.

Each component is one directory ``CACHE/<name>-<version>/`` holding its
binaries.  It is built in a temporary sibling directory and renamed into place
at the end, so a directory that exists is complete.  Nothing here downloads a
prebuilt binary: Go components come from the Go module proxy as source,
etcd and CNI from Debian's signed archive and packages.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from testbed import paths


class BuildError(RuntimeError):
    pass


def _log(msg: str) -> None:
    # Progress goes to stderr: a cold build takes half an hour, and the pytest
    # fixture that triggers it should not look hung.
    print(f"[testbed build {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def go_binary() -> str:
    for cand in (shutil.which("go"), "/usr/local/go/bin/go"):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise BuildError("no go toolchain (PATH or /usr/local/go/bin)")


def go_env(goarch: str = "amd64") -> dict[str, str]:
    env = dict(os.environ)
    env.update(CGO_ENABLED="0", GOOS="linux", GOARCH=goarch, GOFLAGS="-mod=mod -buildvcs=false",
               GOTOOLCHAIN="local")
    return env


# Every component links with -w, which drops DWARF: generating it in the
# compiler first is work thrown away (12-20 % of the CPU of a cold build of
# k8s.io/client-go, 3 % of containerd's; BENCHMARKS "Test bed").  The code is
# the same; only the build settings in the binary's build info say -gcflags.
NO_DWARF = "-gcflags=all=-dwarf=false"


def _run(argv: list[str], cwd: Path | None = None, env: dict | None = None) -> str:
    _log("$ " + " ".join(argv))
    cp = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if cp.returncode != 0:
        raise BuildError(f"{' '.join(argv)} failed ({cp.returncode}):\n{cp.stderr[-4000:]}")
    return cp.stdout


def module_dir(module: str, version: str) -> Path:
    """The module's read-only source in the module cache (``go mod download``).
    A proxy refusal (403/410) surfaces here, verbatim, as a BuildError."""
    out = _run([go_binary(), "mod", "download", "-json", f"{module}@{version}"], env=go_env())
    info = json.loads(out)
    if info.get("Error"):
        raise BuildError(f"{module}@{version}: {info['Error']}")
    return Path(info["Dir"])


def writable_copy(src: Path, dest: Path) -> Path:
    from archport.toolchain.gocompile import writable_copy as copy
    return copy(src, dest)


# -- source fixups ----------------------------------------------------------------

_STAGING_REPLACE = re.compile(r"^(\s*(?:replace\s+)?)(k8s\.io/[\w.-]+)\s+=>\s+\./staging/src/k8s\.io/[\w.-]+\s*$",
                              re.M)


def unstage_kubernetes(src: Path, staging_version: str) -> int:
    """The k8s.io/kubernetes module zip leaves out ``staging/``: point each
    ``k8s.io/X => ./staging/src/k8s.io/X`` replace at the published module of
    the same release instead.  Returns how many lines were rewritten."""
    gomod = src / "go.mod"
    text = gomod.read_text()
    new, n = _STAGING_REPLACE.subn(lambda m: f"{m.group(1)}{m.group(2)} => {m.group(2)} {staging_version}", text)
    if n == 0:
        raise BuildError(f"{gomod}: no ./staging replace lines found")
    gomod.write_text(new)
    for name in ("go.work", "go.work.sum"):
        (src / name).unlink(missing_ok=True)
    shutil.rmtree(src / "vendor", ignore_errors=True)
    return n


# The one change to containerd: the platform it selects by default is
# linux/riscv64 instead of the host's.  containerd v1.7 takes its default
# matcher from github.com/containerd/platforms DefaultSpec() (the
# github.com/containerd/containerd/platforms package only re-exports it).
PLATFORM_PATCH_NOTE = ("ARCHPORT TEST BED: the only change to containerd; the default platform "
                       "is linux/riscv64 so that the runtime of an x86 machine pulls what a riscv64 board pulls.")


def patch_platforms_default(platforms_src: Path) -> Path:
    target = platforms_src / "defaults_unix.go"
    text = target.read_text()
    pattern = re.compile(r"func DefaultSpec\(\) specs\.Platform \{.*?\n\}", re.S)
    if not pattern.search(text):
        raise BuildError(f"{target}: DefaultSpec() not found; the patch needs updating")
    repl = ("// " + PLATFORM_PATCH_NOTE + "\n"
            "func DefaultSpec() specs.Platform {\n"
            "\treturn specs.Platform{OS: runtime.GOOS, Architecture: \"riscv64\"}\n"
            "}")
    text = pattern.sub(lambda _m: repl, text, count=1)
    target.write_text(text)
    return target


# -- components --------------------------------------------------------------------

@dataclass(frozen=True)
class Component:
    name: str
    version: str
    binaries: tuple[str, ...]
    build: Callable[[Path, Path], None]   # (work dir, output bin dir)
    # Downloads what ``build`` will need (module proxy only, nothing compiled),
    # so that it can run while another component compiles; None: nothing to fetch.
    fetch: Callable[[Path], None] | None = None

    @property
    def dir(self) -> Path:
        return paths.component_dir(self.name, self.version)

    def path(self, binary: str) -> Path:
        return self.dir / binary

    def present(self) -> bool:
        return all((self.dir / b).is_file() for b in self.binaries)


def _kubernetes_src(work: Path) -> Path:
    """A prepared kubernetes tree, shared by the four kube binaries."""
    src = paths.CACHE / "src" / f"kubernetes-{paths.KUBERNETES}"
    if (src / ".prepared").is_file():
        return src
    tmp = Path(tempfile.mkdtemp(prefix="kubernetes.", dir=paths.CACHE / "src"))
    shutil.rmtree(tmp)
    writable_copy(module_dir("k8s.io/kubernetes", paths.KUBERNETES), tmp)
    n = unstage_kubernetes(tmp, paths.STAGING)
    _log(f"kubernetes: {n} staging replaces now point at {paths.STAGING}")
    (tmp / ".prepared").write_text("")
    # The module prefetch (fetch_all) prepares it without the build lock: a
    # tree another caller renamed into place meanwhile is in use, keep it.
    try:
        tmp.rename(src)
    except OSError:
        if not (src / ".prepared").is_file():
            raise
        shutil.rmtree(tmp)
    return src


def _kube_ldflags() -> str:
    major, minor = paths.KUBERNETES.lstrip("v").split(".")[:2]
    pairs = {"gitVersion": paths.KUBERNETES, "gitMajor": major, "gitMinor": minor,
             "gitTreeState": "clean", "buildDate": "1970-01-01T00:00:00Z"}
    xs = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        xs += [f"-X {pkg}.{k}={v}" for k, v in pairs.items()]
    return "-s -w " + " ".join(xs)


def _kube(cmd: str, goarch: str) -> Callable[[Path, Path], None]:
    def build(work: Path, out: Path) -> None:
        src = _kubernetes_src(work)
        _run([go_binary(), "build", "-p", "2", "-trimpath", NO_DWARF, "-ldflags", _kube_ldflags(),
              "-o", str(out / cmd), f"./cmd/{cmd}"], cwd=src, env=go_env(goarch))
    return build


def _go_list_deps(src: Path, packages: list[str], goarch: str, tags: str = "") -> None:
    """Load ``packages`` as ``go build`` would (its modules are downloaded), compile nothing."""
    _run([go_binary(), "list", "-deps", *(["-tags", tags] if tags else []), *packages], cwd=src, env=go_env(goarch))


# The amd64 kube binaries: they share one package graph, fetched once (with kube-apiserver's).
KUBE_AMD64 = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kube-proxy")


def _fetch_kube(cmds: tuple[str, ...], goarch: str) -> Callable[[Path], None]:
    def fetch(work: Path) -> None:
        _go_list_deps(_kubernetes_src(work), [f"./cmd/{c}" for c in cmds], goarch)
    return fetch


CONTAINERD_BINARIES = ("containerd", "ctr", "containerd-shim-runc-v2")
CONTAINERD_TAGS = "no_btrfs no_devmapper no_zfs no_aufs"


def _containerd(work: Path, out: Path) -> None:
    src = writable_copy(module_dir("github.com/containerd/containerd", paths.CONTAINERD), work / "containerd")
    req = re.search(r"^\s*github\.com/containerd/platforms\s+(v\S+)", (src / "go.mod").read_text(), re.M)
    if not req:
        raise BuildError("containerd's go.mod does not require github.com/containerd/platforms; "
                         "the default-platform patch needs another place")
    plat = writable_copy(module_dir("github.com/containerd/platforms", req.group(1)), work / "platforms")
    patch_platforms_default(plat)
    _run([go_binary(), "mod", "edit", f"-replace=github.com/containerd/platforms={plat}"], cwd=src, env=go_env())
    shutil.rmtree(src / "vendor", ignore_errors=True)
    ld = (f"-s -w -X github.com/containerd/containerd/version.Version={paths.CONTAINERD}-riscv64default "
          f"-X github.com/containerd/containerd/version.Package=archport-testbed")
    for cmd in CONTAINERD_BINARIES:
        _run([go_binary(), "build", "-p", "2", "-trimpath", NO_DWARF, "-tags", CONTAINERD_TAGS,
              "-ldflags", ld, "-o", str(out / cmd), f"./cmd/{cmd}"], cwd=src, env=go_env())


def _fetch_containerd(work: Path) -> None:
    src = writable_copy(module_dir("github.com/containerd/containerd", paths.CONTAINERD), work / "containerd")
    shutil.rmtree(src / "vendor", ignore_errors=True)
    _go_list_deps(src, [f"./cmd/{cmd}" for cmd in CONTAINERD_BINARIES], "amd64", CONTAINERD_TAGS)


def _fetch_crictl(work: Path) -> None:
    src = writable_copy(module_dir("sigs.k8s.io/cri-tools", paths.CRI_TOOLS), work / "cri-tools")
    shutil.rmtree(src / "vendor", ignore_errors=True)
    _go_list_deps(src, ["./cmd/crictl"], "amd64")


def _crictl(work: Path, out: Path) -> None:
    src = writable_copy(module_dir("sigs.k8s.io/cri-tools", paths.CRI_TOOLS), work / "cri-tools")
    shutil.rmtree(src / "vendor", ignore_errors=True)
    _run([go_binary(), "build", "-p", "2", "-trimpath", NO_DWARF,
          "-ldflags", f"-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version={paths.CRI_TOOLS}",
          "-o", str(out / "crictl"), "./cmd/crictl"], cwd=src, env=go_env())


def _etcd(work: Path, out: Path) -> None:
    """etcd from Debian's signed archive (etcd-server, amd64, trixie): its
    binaries are static Go programs, so bookworm runs them."""
    import httpx
    from archport.fetch import debian
    with httpx.Client(timeout=120, follow_redirects=True) as http:
        arch = debian.Archive(paths.debian_archive(), work / "apt", http)
        rel = arch.release(paths.ETCD_SUITE)
        stanza = debian.find_package(arch.packages(rel, paths.ETCD_SUITE, "amd64"), "etcd-server")
        if stanza is None:
            raise BuildError(f"{paths.ETCD_SUITE} has no etcd-server for amd64")
        deb = arch.deb(stanza)
    debian.extract_file(deb, "/usr/bin/etcd", out / "etcd")
    os.chmod(out / "etcd", 0o755)
    (out / "VERSION").write_text(stanza.get("Version", "?") + "\n")


def components() -> list[Component]:
    k = paths.KUBERNETES
    return [
        Component("etcd", f"debian-{paths.ETCD_SUITE}", ("etcd",), _etcd),
        Component("containerd", f"{paths.CONTAINERD}-riscv64default",
                  CONTAINERD_BINARIES, _containerd, _fetch_containerd),
        Component("crictl", paths.CRI_TOOLS, ("crictl",), _crictl, _fetch_crictl),
        Component("kube-apiserver", f"{k}-amd64", ("kube-apiserver",), _kube("kube-apiserver", "amd64"),
                  _fetch_kube(KUBE_AMD64, "amd64")),
        Component("kube-controller-manager", f"{k}-amd64", ("kube-controller-manager",),
                  _kube("kube-controller-manager", "amd64")),
        Component("kube-scheduler", f"{k}-amd64", ("kube-scheduler",), _kube("kube-scheduler", "amd64")),
        Component("kubelet", f"{k}-riscv64", ("kubelet",), _kube("kubelet", "riscv64"),
                  _fetch_kube(("kubelet",), "riscv64")),
        Component("kubectl", f"{k}-amd64", ("kubectl",), _kube("kubectl", "amd64")),
        # Services (ClusterIPs such as 10.43.0.1) for the pods k3s ships; k3s embeds it.
        Component("kube-proxy", f"{k}-amd64", ("kube-proxy",), _kube("kube-proxy", "amd64")),
    ]


def by_name() -> dict[str, Component]:
    return {c.name: c for c in components()}


def ensure(c: Component) -> float:
    """Build ``c`` unless its cache directory exists; returns seconds spent.
    Concurrent callers (several test sessions on one machine) take turns on
    one lock file: the second finds the component built by the first."""
    if c.present():
        return 0.0
    paths.CACHE.mkdir(parents=True, exist_ok=True)
    (paths.CACHE / "src").mkdir(exist_ok=True)
    with open(paths.CACHE / ".build.lock", "w") as lock:
        if not _try_lock(lock):
            _log(f"waiting for another build of the bed's components ({paths.CACHE / '.build.lock'})")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if c.present():
            return 0.0
        return _build(c)


def _try_lock(fh) -> bool:
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _build(c: Component) -> float:
    t0 = time.monotonic()
    _log(f"building {c.name} {c.version}")
    tmp = Path(tempfile.mkdtemp(prefix=f".{c.name}.", dir=paths.CACHE))
    try:
        out = tmp / "out"
        out.mkdir()
        c.build(tmp, out)
        shutil.rmtree(c.dir, ignore_errors=True)
        out.rename(c.dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    dt = time.monotonic() - t0
    _log(f"built {c.name} {c.version} in {dt:.0f} s")
    with open(paths.CACHE / "build-times.tsv", "a") as fh:
        fh.write(f"{c.name}\t{c.version}\t{dt:.0f}\n")
    return dt


def ensure_all(names: list[str] | None = None) -> dict[str, float]:
    times = {}
    for c in components():
        if names and c.name not in names:
            continue
        times[c.name] = ensure(c)
    return times


def fetch_all() -> dict[str, float]:
    """Download the modules of every Go component not built yet, compiling
    nothing (no lock: the go command's module cache takes its own).  A cold
    run starts this beside its first tests, so a component's build finds its
    modules there instead of waiting on the network.  Best effort: what
    fails here is left to the build, which reports it."""
    times = {}
    (paths.CACHE / "src").mkdir(parents=True, exist_ok=True)
    for c in components():
        if c.fetch is None or c.present():
            continue
        t0 = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix=f".fetch-{c.name}."))
        try:
            c.fetch(work)
        except (BuildError, OSError) as e:
            _log(f"fetching {c.name}'s modules failed (its build will say why): {str(e)[:300]}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        times[c.name] = time.monotonic() - t0
    return times


if __name__ == "__main__":
    ensure_all(sys.argv[1:] or None)
