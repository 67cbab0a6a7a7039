"""Compiling a Go module for a target: the toolchain, the module fetched
through the proxy into a writable tree, the fixups, ``go build``.

Used by the *go* strategy (:mod:`archport.strategies.gobuild`) and by transplant for the Go
binaries a distro-based image carries outside its packages.  A
:class:`Recipe` says what upstream built; :func:`build_binary` builds it for
another platform, applying fixups proactively from the module graph and
reactively from the compiler's own error, at most :data:`MAX_BUILDS` times.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from ..catalog import versions
from ..errors import ArchportError, BadInput, NotPortable
from ..fetch.goproxy import ModuleUnavailable, download_module
from ..platform import Platform
from ..progress import Phase, phase
from . import fixups as fx, vcs
from .substitute import refusal_hint

MIN_GO = "1.20"
MAX_BUILDS = 5


@dataclass(frozen=True, slots=True)
class GoOptions:
    """How the go command runs, built once by the CLI (the library reads no
    environment variables)."""

    # The go command's whole environment: GOPROXY, GOSUMDB, GOFLAGS, GOPRIVATE,
    # GOTOOLCHAIN…, and PATH/HOME to find it and its caches.
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    version: str | None = None           # --go-version, applied through GOTOOLCHAIN
    # --substitute NAME=VERSION: the version to build when NAME's exact one
    # cannot be fetched (recorded in the result and annotations, never silent).
    substitutes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Recipe:
    """How upstream built the binary, and where it lives in the image."""

    module: str
    version: str
    package: str                     # import path of the main package
    ldflags: str
    tags: tuple[str, ...]
    binary: str                      # absolute path in the image
    origin: str                      # "build info of /path (go1.x)" | "catalog"
    upstream_cgo: bool | None = None
    # Follows upstream: Go >= 1.18 records "-trimpath=true" in the build info
    # of a -trimpath build (cmd/go, debug/buildinfo).  Without build settings
    # to read (Go < 1.18, or the catalog's recipe) archport trims: the binary
    # then records no paths of the machine that built it.
    trimpath: bool = True
    # What the result should say about the recipe (which -X values came
    # from the module's .info rather than from upstream's build).
    notes: tuple[str, ...] = ()
    # --substitute: what was built instead of what, and why ("" when exact).
    substituted: str = ""
    instead_of: str = ""             # with ``substituted``: the version upstream's image holds
    # A module without go.mod (glide, dep): the catalog's go.mod for it, and
    # the local modules its replace block points at (catalog LocalModule).
    gomod: str = ""
    local: tuple = ()


def go_binary(go_env) -> str | None:
    found = shutil.which("go", path=go_env.get("PATH")) or shutil.which("go") or "/usr/local/go/bin/go"
    return found if os.path.exists(found) else None


# -- the toolchain -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Toolchain:
    go: str
    version: str                     # "go1.26.8"
    env: dict

    @classmethod
    def for_options(cls, options: GoOptions, log: Callable[[Any], None]) -> "Toolchain":
        base = dict(options.env)
        if options.version:
            v = options.version if options.version.startswith("go") else "go" + options.version
            base["GOTOOLCHAIN"] = v
        base.setdefault("GOTOOLCHAIN", "local")
        go = go_binary(base)
        if go is None:
            raise ArchportError("the go strategy needs the Go toolchain (go) on PATH")
        # With --go-version the go command may first download that toolchain.
        with tempfile.TemporaryDirectory(prefix="archport-goenv-") as d, \
                phase(log if options.version else (lambda _e: None), f"go toolchain {base['GOTOOLCHAIN']}"):
            cp = _run([go, "env", "GOVERSION"], Path(d), base, timeout=900)
        if cp.returncode != 0:
            raise ArchportError(f"go env GOVERSION failed ({base['GOTOOLCHAIN']}): {_tail(cp.stdout + cp.stderr, 3)}")
        version = cp.stdout.strip()
        try:
            too_old = versions.parse_go(version) < versions.parse_go(MIN_GO)
        except BadInput:
            too_old = False
        if too_old:
            raise BadInput(f"{version} is older than Go {MIN_GO}, whose runtime crashes on Sv57 kernels; "
                           f"install a newer Go or pass --go-version 1.22.12 (or later)")
        return cls(go, version, base)


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float = 1800) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, 124, e.stdout or "", f"{shlex.join(cmd)} timed out after {timeout}s")


def _tail(text: str, n: int) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-n:])


# -- fetch, fix, build -------------------------------------------------------------

def build_binary(recipe: Recipe, target: Platform, go: Toolchain, fixups: tuple, workdir: Path,
                 log: Callable[[Any], None]) -> tuple[Path, list[fx.Step]]:
    """Fetch ``recipe``'s module through the proxy and build its binary for
    ``target`` in a new directory under ``workdir``, applying fixups
    (proactively, then reactively on a known failure); the go strategy and
    transplant's unowned binaries both use it."""
    work = Path(tempfile.mkdtemp(prefix="go-", dir=workdir))
    with phase(log, f"go mod download {recipe.module}@{recipe.version}"):
        src = _download(recipe, go, work)
    pkg = recipe.package
    rel = "." if pkg == recipe.module else "./" + pkg[len(recipe.module):].lstrip("/")
    # Module zips leave vendor/ out but for modules.txt (go.dev/ref/mod#zip-files):
    # a module fetched through the proxy builds with -mod=mod, its deps from the proxy.
    vendored = (src / "vendor" / "modules.txt").is_file() and any(
        p.is_dir() for p in (src / "vendor").iterdir())
    if not vendored and (src / "vendor").is_dir():
        shutil.rmtree(src / "vendor")
    # The tree as served, tagged: the binary then names its version (toolchain.vcs).
    unstamped = vcs.tag_tree(src, recipe.version, go.env)
    if unstamped:
        log(f"go: the binary will say (devel) for its own version: {unstamped}")
    if recipe.gomod:
        _write_gomod(recipe, src, go, work)
    build_env = {**go.env, "CGO_ENABLED": "0", "GOOS": target.os, "GOARCH": target.architecture}
    out = work / "binary"
    steps: list[fx.Step] = []
    extra: list[str] = []

    graph = fx.module_graph(src)
    for step in fx.proactive(fixups, graph, go.version, target.architecture):
        with phase(log, f"fixup {step.fixup}"):
            _apply(step, src, go, vendored, fixups, steps, extra)
    output = ""
    for _ in range(MAX_BUILDS):
        cmd = build_command(go.go, recipe, out, rel, vendored, extra, stamp=not unstamped)
        building = Phase(f"go build {recipe.module}@{recipe.version} for {target}")
        log(building)
        cp = _run(cmd, src, build_env)
        log(building.end(failed=cp.returncode != 0))
        if cp.returncode == 0:
            return out, steps
        output = cp.stdout + cp.stderr
        more = fx.reactive(fixups, output, fx.module_graph(src), steps)
        if not more:
            break
        for step in more:
            with phase(log, f"fixup {step.fixup}"):
                _apply(step, src, go, vendored, fixups, steps, extra)
    tried = "; ".join(s.describe() for s in steps) or "none matched the error"
    raise NotPortable(f"go build of {recipe.module}@{recipe.version} for {target} failed:\n{_tail(output, 15)}\n"
                      f"fixups tried: {tried}", fx.next_steps(fixups, fx.module_graph(src), steps))


def stripped(stream) -> bool:
    """True when the ELF binary has no ``.symtab`` (upstream built it with
    ``-ldflags=-s``, or ran strip): then the rebuild drops the symbol and
    DWARF tables too (``-s -w``, cmd/link), so its size matches upstream's.
    A file pyelftools cannot read counts as not stripped."""
    start = stream.tell()
    try:
        stream.seek(0)
        return ELFFile(stream).get_section_by_name(".symtab") is None
    except (ELFError, ValueError, OSError, EOFError):
        return False
    finally:
        stream.seek(start)


def strip_like(ldflags: str, upstream_stripped: bool) -> str:
    """``ldflags`` with ``-s -w`` added when upstream's binary was stripped
    and the flags do not already strip it."""
    if not upstream_stripped:
        return ldflags
    words = shlex.split(ldflags) if ldflags else []
    missing = [f for f in ("-s", "-w") if f not in words]
    return " ".join(x for x in (ldflags, *missing) if x)


def build_command(go: str, recipe: Recipe, out: Path, rel: str, vendored: bool, extra: list[str], *,
                  stamp: bool = False) -> list[str]:
    """The ``go build`` command line for ``recipe`` (``extra``: -ldflags fixups
    add; ``stamp``: the source is a tagged repository whose version to stamp,
    on the command line because a user's GOFLAGS may say -buildvcs=false)."""
    cmd = [go, "build", *(["-trimpath"] if recipe.trimpath else []), f"-buildvcs={'true' if stamp else 'false'}",
           "-o", str(out)]
    if not vendored:
        cmd.append("-mod=mod")     # go.sum follows bumps; the checksum DB still verifies (GOSUMDB)
    if recipe.tags:
        cmd += ["-tags", ",".join(recipe.tags)]
    ldflags = " ".join(x for x in (recipe.ldflags, *extra) if x)
    if ldflags:
        cmd += ["-ldflags", ldflags]
    cmd.append(rel)
    return cmd


def _download(recipe: Recipe, go: Toolchain, work: Path) -> Path:
    try:
        module_dir = download_module(go.go, go.env, recipe.module, recipe.version, work)
    except ModuleUnavailable as e:
        raise NotPortable(str(e), "check GOPROXY/GOPRIVATE/GONOSUMDB; if the proxy refuses this version, "
                                  + refusal_hint(None, recipe.module, recipe.version, recipe.binary)) from None
    return writable_copy(module_dir, work / "src")


def _write_gomod(recipe: Recipe, src: Path, go: Toolchain, work: Path) -> None:
    """Give a module without go.mod the catalog's, and make the local
    modules it replaces from their served sources (go.sum is then written by
    the build's -mod=mod, every download checked against GOSUMDB)."""
    if (src / "go.mod").exists():
        raise NotPortable(f"{recipe.module}@{recipe.version} has a go.mod of its own; the catalog's gomod is for "
                          "modules without one", "remove gomod from the catalog's [[binary]] entry")
    (work / "local").mkdir(exist_ok=True)

    def fetched(local) -> Path:
        module, _, version = local.source.partition("@")
        try:
            return Path(download_module(go.go, go.env, module, version, work / "local"))
        except ModuleUnavailable as e:
            raise NotPortable(f"{local.module}: its source {local.source} cannot be fetched: {e}") from None

    place_gomod(src, recipe.gomod, recipe.local, fetched)


def place_gomod(src: Path, gomod: str, local: tuple, source_dir) -> None:
    """Write ``gomod`` into the module tree ``src`` and each local module
    (catalog ``LocalModule``) where its replace points, its files copied
    from ``source_dir(local)``, the source module's directory."""
    (src / "go.mod").write_text(gomod)
    for m in local:
        origin = source_dir(m)
        dest = src / m.directory
        dest.mkdir(parents=True)
        (dest / "go.mod").write_text(f"module {m.module}\n")
        for into, frm in m.files:
            (dest / into).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin / frm, dest / into)


def writable_copy(module_dir: str | Path, dest: Path) -> Path:
    """A copy of a module-cache tree that fixups and builds may write to
    (the module cache is read-only)."""
    shutil.copytree(module_dir, dest, symlinks=True)
    for root, dirs, files in os.walk(dest):
        for name in dirs + files:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                os.chmod(p, os.stat(p).st_mode | 0o200)
    os.chmod(dest, 0o755)
    return dest


def _apply(step: fx.Step, src: Path, go: Toolchain, vendored: bool, fixups: tuple,
           steps: list[fx.Step], extra: list[str]) -> None:
    steps.append(step)
    if step.action == "ldflags":
        extra.append(step.new)
        return
    cp = _run([go.go, "mod", "edit", f"-require={step.module}@{step.new}"], src, go.env)
    if cp.returncode != 0:
        raise NotPortable(f"fixup {step.fixup}: go mod edit failed: {_tail(cp.stderr, 5)}")
    if vendored:
        # vendor/modules.txt must match go.mod, or the go command refuses to build.
        env = {k: v for k, v in go.env.items() if k != "GOFLAGS"}
        cp = _run([go.go, "mod", "tidy"], src, env)
        if cp.returncode == 0:
            cp = _run([go.go, "mod", "vendor"], src, env)
        if cp.returncode != 0:
            raise NotPortable(f"fixup {step.fixup}: re-vendoring after the bump failed: {_tail(cp.stderr, 5)}",
                              "build without vendor/ (-mod=mod) or bump by hand")
        steps.append(fx.Step(fx.vendor_procedure(fixups), "vendor", why=f"after bumping {step.module}"))
