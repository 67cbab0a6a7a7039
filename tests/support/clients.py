"""Other clients that read what archport writes: crane, regctl, oras, syft, and a strict
registries.yaml parser built on k3s's own registry types.

    crane_bin = clients.crane()          # Path of the built binary
    clients.check_registries_yaml(path)  # raises AssertionError on unknown fields

Each is built from source fetched through the Go module proxy, at the exact
version below, once per machine: ``CACHE/<name>-<version>/<binary>``
(``/var/cache/archport-clients``, a sibling of the bed's component cache).  A
build happens in a temporary sibling directory that is renamed into place, under
an ``flock`` per component, so a directory that exists is complete and two
sessions never build the same thing twice.  A proxy refusal (403/410) fails
the build with the proxy's own message: pick another exact version here.

The strict parser is tests/fixtures/registries_strict: it unmarshals a
registries.yaml into rancher/wharfie ``pkg/registries.Registry`` (the type k3s
reads it into) with yaml.v2 ``UnmarshalStrict``, so a key k3s would silently
ignore, a duplicate key or a value of the wrong type exits non-zero.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.gobuild import go_binary

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("ARCHPORT_CLIENTS_CACHE", "/var/cache/archport-clients"))
STRICT_SRC = REPO / "tests" / "fixtures" / "registries_strict"

# Exact versions (the proxy served each of them on 2026-12-07).
CRANE = ("github.com/google/go-containerregistry", "v0.22.1", "cmd/crane")
REGCTL = ("github.com/regclient/regclient", "v0.11.7", "cmd/regctl")
# syft scans an image for packages; its cold build is the longest here (see
# BENCHMARKS), so it runs at nice 10.
SYFT = ("github.com/anchore/syft", "v1.57.2", "cmd/syft")
ORAS = ("oras.land/oras", "v1.3.6", "cmd/oras")
WHARFIE = ("github.com/rancher/wharfie", "v0.7.1")   # pinned in tests/fixtures/registries_strict/go.mod
BUILD_TIMEOUT = 1800


@dataclass(frozen=True)
class Program:
    name: str
    version: str      # the cache key: a module version, plus the fixture's hash for our own program

    @property
    def dir(self) -> Path:
        return CACHE / f"{self.name}-{self.version}"

    @property
    def path(self) -> Path:
        return self.dir / self.name


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # -mod flags do not apply to `go install pkg@version`; the fixture build
    # passes -mod=readonly itself (its go.sum is committed).
    env.update(CGO_ENABLED="0", GOOS="linux", GOARCH="amd64", GOTOOLCHAIN="local", GOFLAGS="-buildvcs=false")
    if env.get("GOPROXY") == "off":      # these come from the module proxy by design
        del env["GOPROXY"]
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    cp = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    if cp.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({cp.returncode}):\n{cp.stderr[-4000:]}")


def _cached(program: Program, build) -> Path:
    """``program``'s binary, built by ``build(out_dir)`` unless already cached."""
    if program.path.is_file():
        return program.path
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{program.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if program.path.is_file():         # built meanwhile by another session
            return program.path
        tmp = Path(tempfile.mkdtemp(prefix=f".{program.name}-{program.version}.", dir=CACHE))
        try:
            build(tmp)
            if not (tmp / program.name).is_file():
                raise RuntimeError(f"building {program.name} produced no {program.name} binary")
            shutil.rmtree(program.dir, ignore_errors=True)
            tmp.rename(program.dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return program.path


def _go_install(module: str, version: str, package: str, nice: int = 0):
    def build(out: Path) -> None:
        argv = [go_binary(), "install", "-trimpath", "-ldflags", "-s -w", f"{module}/{package}@{version}"]
        _run((["nice", "-n", str(nice)] if nice else []) + argv, cwd=out, env={**_env(), "GOBIN": str(out)})
    return build


def crane() -> Path:
    module, version, package = CRANE
    return _cached(Program("crane", version), _go_install(module, version, package))


def regctl() -> Path:
    module, version, package = REGCTL
    return _cached(Program("regctl", version), _go_install(module, version, package))


def syft() -> Path:
    module, version, package = SYFT
    return _cached(Program("syft", version), _go_install(module, version, package, nice=10))


def oras() -> Path:
    module, version, package = ORAS
    return _cached(Program("oras", version), _go_install(module, version, package, nice=10))


# The go-installed clients.
GO_INSTALLED = {"crane": CRANE, "regctl": REGCTL, "oras": ORAS, "syft": SYFT}


def _strict_key() -> str:
    h = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        h.update(name.encode() + b"\0" + (STRICT_SRC / name).read_bytes() + b"\0")
    return f"{WHARFIE[1]}-{h.hexdigest()[:12]}"


def registries_strict() -> Path:
    """The strict registries.yaml parser (tests/fixtures/registries_strict)."""
    def build(out: Path) -> None:
        src = out / "src"
        shutil.copytree(STRICT_SRC, src)
        _run([go_binary(), "build", "-mod=readonly", "-trimpath", "-o", str(out / "registries_strict"), "."],
             cwd=src, env=_env())
        shutil.rmtree(src)
    return _cached(Program("registries_strict", _strict_key()), build)


def check_registries_yaml(path: str | os.PathLike) -> None:
    """Parse ``path`` as k3s does, but strictly: fail on anything k3s would
    ignore or misread (unknown or duplicate keys, wrong types)."""
    cp = subprocess.run([str(registries_strict()), str(path)], capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, f"{path} is not a registries.yaml k3s reads as written:\n{cp.stderr.strip()}"


def check_registries_bytes(data: bytes) -> None:
    """:func:`check_registries_yaml` for a document in memory (a merge's output)."""
    with tempfile.NamedTemporaryFile(suffix=".yaml") as f:
        f.write(data)
        f.flush()
        check_registries_yaml(f.name)


def fetch() -> list[str]:
    """Download what the go-installed clients not built yet will need, compiling
    nothing (``go install -n``): a cold run does this beside its first tests
    (scripts/prefetch.py), so their builds find their modules there."""
    fetched = []
    for name, (module, version, package) in GO_INSTALLED.items():
        if Program(name, version).path.is_file():
            continue
        with tempfile.TemporaryDirectory() as tmp:
            _run([go_binary(), "install", "-n", f"{module}/{package}@{version}"], cwd=Path(tmp),
                 env={**_env(), "GOBIN": tmp})
        fetched.append(f"{module}@{version}")
    return fetched


def build_all() -> list[str]:
    """Build every client not cached yet (scripts/prefetch.py, beside a cold
    run's first tests), through the same lock and rename as a test's first
    call: a test arriving meanwhile waits for that build, then reuses it."""
    built = []
    # In the order the run first needs them (tests/deploy, then tests/interop).
    for name, make in (("registries_strict", registries_strict), ("crane", crane), ("regctl", regctl),
                       ("oras", oras), ("syft", syft)):
        key = _strict_key() if name == "registries_strict" else GO_INSTALLED[name][1]
        if not Program(name, key).path.is_file():
            make()
            built.append(name)
    return built
