"""``go``: rebuild the same Go module at the same version for the target.

    upstream binary ──read_buildinfo──► module@version, -ldflags, -tags, CGO
        (or the catalog's [[go]] table when the binary cannot be read or its
        -ldflags went unrecorded; its {commit}/{date} from the module's .info)
    go mod download -json MODULE@VERSION   (GOPROXY/GOSUMDB/GOFLAGS/GOPRIVATE as given)
    copy to a writable tree ─► proactive fixups ─► go build ─► reactive fixups ─► rebuild
    assemble: the binary at the upstream path, the upstream config, provenance

``CGO_ENABLED=0 GOOS=linux GOARCH=<target>``, ``-trimpath`` as upstream built
(its build info says; trimmed when it cannot say); the toolchain is the
``go`` on PATH (≥ 1.20: older runtimes crash on Sv57 kernels, golang/go#54104) or
``--go-version`` through GOTOOLCHAIN.  The build is staged (prepare → make →
finish) so that :class:`archport.strategies.cached.Cached` keeps the binary
by its inputs: a repeated port neither downloads nor compiles.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..build.assemble import ANN_CHANGES, Base, assemble, provenance
from ..binaries.buildinfo import BuildInfo
from ..build.layer import FileSpec
from ..catalog import versions
from ..errors import ArchportError, BadInput
from ..fetch.goproxy import ModuleInfo, ModuleUnavailable, download_module, module_info
from ..oci import Manifest, read_config
from ..platform import Platform, normalize
from . import Decision, Env, NotPortable, Outcome, Prepared, Product, Upstream, run_staged
from . import fixups as fx
from .imagefile import find_binary

MIN_GO = "1.20"
MAX_BUILDS = 5
ANN_MODULE = "io.archport.go.module"
ANN_GO = "io.archport.go.version"
ANN_FIXUPS = "io.archport.fixups"


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


class GoStrategy:
    name = "go"

    def consider(self, up: Upstream, target: Platform, env: Env) -> Decision:
        comp, tag = up.component, up.ref.tag or ""
        if comp is not None and comp.kind != "go":
            return Decision(False, f"the catalog builds {comp.name} as {comp.kind}, not from a Go module")
        if comp is not None and comp.go_build(tag) is not None:
            return Decision(True, f"{comp.go_build(tag).module} is a Go module: rebuild it for {target}")
        if up.manifest is None:
            return Decision(False, "no upstream platform image to read a Go binary from")
        return Decision(True, "will read the Go build info of the upstream entrypoint binary")

    def build(self, up: Upstream, target: Platform, env: Env, decision: Decision | None = None) -> Outcome:
        return run_staged(self, up, target, env, decision)

    def prepare(self, up: Upstream, target: Platform, env: Env, decision: Decision | None) -> Prepared:
        target = normalize(target)
        recipe = recover(up, env)
        go = Toolchain.for_env(env)
        graph_fixups = tuple(env.catalog.fixups)
        inputs = {
            "v": 1, "module": recipe.module, "version": recipe.version, "package": recipe.package,
            "ldflags": recipe.ldflags, "tags": list(recipe.tags), "go": go.version,
            "goos": target.os, "goarch": target.architecture, "goriscv64": go.env.get("GORISCV64", ""),
            "cgo": False, "trimpath": recipe.trimpath,
            "fixups": [f.to_dict() for f in graph_fixups],
        }
        return Prepared(inputs, (recipe, go, graph_fixups), f"go: {recipe.module}@{recipe.version}")

    def make(self, prepared: Prepared, target: Platform, env: Env) -> Product:
        recipe, go, graph_fixups = prepared.context
        binary, steps = build_binary(recipe, normalize(target), go, graph_fixups, env)
        return Product({"binary": binary}, {"steps": [_step_dict(s) for s in steps]})

    def finish(self, up: Upstream, target: Platform, env: Env, prepared: Prepared, product: Product) -> Outcome:
        recipe, go, _ = prepared.context
        steps = [fx.Step(**s) for s in product.record.get("steps", [])]
        built = _assemble(up, normalize(target), env, recipe, go, steps, product.files["binary"])
        why = f"rebuilt {recipe.module}@{recipe.version} with {go.version} ({recipe.origin})"
        notes = (f"toolchain {go.version}",) + recipe.notes
        if not recipe.trimpath:
            notes += ("built without -trimpath, as upstream was (its build info has no -trimpath=true): "
                      "the binary records the build's directories",)
        return Outcome(self.name, why, built=built, fixups=tuple(s.describe() for s in steps), notes=notes)




# -- recovering the recipe ---------------------------------------------------------

def recover(up: Upstream, env: Env) -> Recipe:
    comp, tag = up.component, up.ref.tag or ""
    gb = comp.go_build(tag) if comp is not None else None
    contract = comp.contract(tag) if comp is not None else None
    cfg = up.config
    entry = list((cfg.entrypoint or ()) + (cfg.cmd or ()))[:1] if cfg else []
    wanted = contract.binary if contract is not None and contract.binary else (entry[0] if entry else "")
    info: BuildInfo | None = None
    path = ""
    why_not = "no upstream platform image"
    if up.manifest is not None and wanted:
        try:
            path, info = find_binary(up.source, up.manifest, cfg.path if cfg else "", wanted, env.workdir)
            why_not = f"{wanted} is not a Go binary with build info" if info is None else ""
        except ArchportError as e:
            why_not = f"could not read {wanted}: {e}"
    notes: tuple[str, ...] = ()
    if info is not None and info.main.path:
        origin = f"build info of {path} ({info.go_version})"
        version = info.main.version
        if version in ("", "(devel)") and gb is not None and gb.module == info.main.path:
            # Built from a checkout (upstream's scripts do that): the tag names the version.
            version = comp.upstream_version(tag)
            origin += f"; version {version} from the image tag"
        ldflags = info.ldflags
        if not ldflags and gb is not None and gb.module == info.main.path:
            # cmd/go leaves -ldflags out of the build info of a -trimpath build,
            # and Go < 1.18 records no build settings at all: the -X values
            # then come from the catalog.
            values, notes = _values_for(gb, tag, comp.upstream_version(tag), env)
            ldflags = shlex.join(gb.ldflags_for(values))
            why = ("the build info of Go < 1.18 has no build settings" if not info.settings
                   else "not recorded under -trimpath")
            origin += f"; -ldflags from the catalog ({why})"
        if version not in ("", "(devel)"):
            return Recipe(info.main.path, version, info.path or info.main.path, ldflags, info.tags,
                          path, origin, info.cgo_enabled, trimpath_of(info), notes)
        why_not = f"{path} was built from a checkout ((devel)) and the catalog does not name its version"
    if gb is None:
        raise NotPortable(f"cannot tell which Go module to build: {why_not}, and the catalog has no [[go]] "
                          f"table for {up.ref.familiar()}",
                          "add the component to the catalog (--catalog EXTRA.toml) with its module and -X flags")
    version = comp.upstream_version(tag)
    values, notes = _values_for(gb, tag, version, env)
    pkg = gb.module if gb.package in ("", ".") else f"{gb.module}/{gb.package.removeprefix('./')}"
    binary = path or (contract.binary if contract is not None else "") or (entry[0] if entry else "")
    if not binary.startswith("/"):
        binary = f"/usr/bin/{binary or gb.module.rsplit('/', 1)[-1]}"
    return Recipe(gb.module, version, pkg, shlex.join(gb.ldflags_for(values)), gb.tags, binary,
                  f"catalog ({why_not})", gb.cgo, notes=notes)


def trimpath_of(info: BuildInfo | None) -> bool:
    """Whether to build with -trimpath: as upstream did when its build info
    has build settings, else yes."""
    if info is None or not info.settings:
        return True
    return info.trimpath


def _values(tag: str, version: str, info: ModuleInfo | None = None) -> dict[str, str]:
    return {"tag": tag, "version": version.removeprefix("v"),
            "commit": info.commit if info else "", "date": info.time if info else ""}


# Template names whose values only the module's .info knows: the commit
# (Origin.Hash, recorded by proxies since Go 1.19) and its time.
_INFO_FIELDS = {"commit": "Origin.Hash", "date": "Time"}


def _values_for(gb, tag: str, version: str, env: Env) -> tuple[dict[str, str], tuple[str, ...]]:
    """The catalog's template values for ``gb``'s -X flags, and notes saying
    which came from the module's .info.  The proxy is asked only when a
    template names {commit} or {date}; without an answer they stay empty,
    as a build from the module zip (no VCS checkout) would leave them."""
    wanted = {var: names for var, template in gb.x
              if (names := set(re.findall(r"\{(\w+)\}", template)) & _INFO_FIELDS.keys())}
    if not wanted:
        return _values(tag, version), ()
    go = _go_binary(env.go_env)
    try:
        if go is None:
            raise ArchportError("no go command on PATH")
        info = module_info(go, env.go_env, gb.module, version, Path(env.workdir))
    except ArchportError as e:
        return _values(tag, version), (f"-X {', '.join(wanted)} left empty: the module's .info could not be read ({e})",)
    values = _values(tag, version, info)
    notes = []
    for var, names in wanted.items():
        missing = [_INFO_FIELDS[n] for n in sorted(names) if not values[n]]
        if missing:
            notes.append(f"-X {var} left empty: {gb.module}@{version}'s .info has no {', '.join(missing)}")
        else:
            said = ", ".join(_INFO_FIELDS[n] + (" (the commit's time, not upstream's build time)" if n == "date" else "")
                             for n in sorted(names))
            notes.append(f"-X {var} from {gb.module}@{version}'s .info: {said}")
    return values, tuple(notes)


def _go_binary(go_env) -> str | None:
    found = shutil.which("go", path=go_env.get("PATH")) or shutil.which("go") or "/usr/local/go/bin/go"
    return found if os.path.exists(found) else None


# -- the toolchain -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Toolchain:
    go: str
    version: str                     # "go1.26.8"
    env: dict

    @classmethod
    def for_env(cls, env: Env) -> "Toolchain":
        base = dict(env.go_env)
        if env.go_version:
            v = env.go_version if env.go_version.startswith("go") else "go" + env.go_version
            base["GOTOOLCHAIN"] = v
        base.setdefault("GOTOOLCHAIN", "local")
        go = _go_binary(base)
        if go is None:
            raise ArchportError("the go strategy needs the Go toolchain (go) on PATH")
        with tempfile.TemporaryDirectory(prefix="archport-goenv-") as d:
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

def build_binary(recipe: Recipe, target: Platform, go: Toolchain, fixups: tuple, env: Env) -> tuple[Path, list[fx.Step]]:
    """Fetch ``recipe``'s module through the proxy and build its binary for
    ``target``, applying fixups (proactively, then reactively on a known
    failure); the go strategy and transplant's unowned binaries both use it."""
    work = Path(tempfile.mkdtemp(prefix="go-", dir=env.workdir))
    src = _download(recipe, go, work)
    pkg = recipe.package
    rel = "." if pkg == recipe.module else "./" + pkg[len(recipe.module):].lstrip("/")
    # Module zips leave vendor/ out but for modules.txt (go.dev/ref/mod#zip-files):
    # a module fetched through the proxy builds with -mod=mod, its deps from the proxy.
    vendored = (src / "vendor" / "modules.txt").is_file() and any(
        p.is_dir() for p in (src / "vendor").iterdir())
    if not vendored and (src / "vendor").is_dir():
        shutil.rmtree(src / "vendor")
    build_env = {**go.env, "CGO_ENABLED": "0", "GOOS": target.os, "GOARCH": target.architecture}
    out = work / "binary"
    steps: list[fx.Step] = []
    extra: list[str] = []

    graph = fx.module_graph(src)
    for step in fx.proactive(fixups, graph, go.version, target.architecture):
        _apply(step, src, go, vendored, fixups, steps, extra)
    output = ""
    for _ in range(MAX_BUILDS):
        cmd = build_command(go.go, recipe, out, rel, vendored, extra)
        env.log(f"go: building {recipe.module}@{recipe.version} for {target}")
        cp = _run(cmd, src, build_env)
        if cp.returncode == 0:
            return out, steps
        output = cp.stdout + cp.stderr
        more = fx.reactive(fixups, output, fx.module_graph(src), steps)
        if not more:
            break
        for step in more:
            _apply(step, src, go, vendored, fixups, steps, extra)
    tried = "; ".join(s.describe() for s in steps) or "none matched the error"
    raise NotPortable(f"go build of {recipe.module}@{recipe.version} for {target} failed:\n{_tail(output, 15)}\n"
                      f"fixups tried: {tried}", fx.next_steps(fixups, fx.module_graph(src), steps))


def build_command(go: str, recipe: Recipe, out: Path, rel: str, vendored: bool, extra: list[str]) -> list[str]:
    """The ``go build`` command line for ``recipe`` (``extra``: -ldflags fixups add)."""
    cmd = [go, "build", *(["-trimpath"] if recipe.trimpath else []), "-buildvcs=false", "-o", str(out)]
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
        raise NotPortable(str(e), "check GOPROXY/GOPRIVATE/GONOSUMDB, or whether this version exists upstream") from None
    return writable_copy(module_dir, work / "src")


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


def _step_dict(s: fx.Step) -> dict:
    return {"fixup": s.fixup, "action": s.action, "module": s.module, "old": s.old, "new": s.new, "why": s.why}


# -- the image ---------------------------------------------------------------------

def _assemble(up: Upstream, target: Platform, env: Env, recipe: Recipe, go: Toolchain,
              steps: list[fx.Step], binary: Path):
    base, note = _base(up, target, env)
    if note:
        env.log(f"go: {note}")
    ids = ",".join(dict.fromkeys(s.fixup for s in steps))
    ann = provenance(source=recipe.module, version=recipe.version, strategy="go",
                     changes=[s.describe() for s in steps])
    ann.update({ANN_MODULE: f"{recipe.module}@{recipe.version}", ANN_GO: go.version})
    if ids:
        ann[ANN_FIXUPS] = ids
    files = [FileSpec(recipe.binary, source=str(binary), mode=0o755)]
    if base is None and up.manifest is not None and up.source is not None:
        from .carry import carry
        kept, left = carry(up.source, up.manifest, Path(env.workdir), posixpath.normpath("/" + recipe.binary.lstrip("/")))
        files = kept + files
        plat = up.config.platform if up.config else "reference"
        ann[ANN_CHANGES] = "; ".join(filter(None, [
            ann.get(ANN_CHANGES, ""), f"carried {sum(f.kind == 'file' for f in kept)} files from the upstream "
            f"{plat} image" + (f"; not carried (ELF for another machine): {', '.join(left)}" if left else "")]))
        if left:
            env.log(f"go: not carried (ELF for another machine): {', '.join(left)}")
    return assemble(base, files, platform=target, family=up.family, reference_config=up.config,
                    annotations=ann, created=env.source_date_epoch, workdir=str(env.workdir),
                    history_comment=f"{recipe.module}@{recipe.version} rebuilt by archport with {go.version}")


def _base(up: Upstream, target: Platform, env: Env) -> tuple[Base | None, str]:
    """The upstream base when it has the target, else scratch (with why)."""
    name = (up.manifest.annotations.get("org.opencontainers.image.base.name") if up.manifest else None) or ""
    if not name or env.registry is None:
        return None, "built on scratch (the upstream image names no base image)"
    from ..images import open_source
    from ..reference import parse
    try:
        src = open_source(parse(name), env.registry)
        top = src.resolve()
        m = top if isinstance(top, Manifest) else None
        if m is None:
            desc = top.find(target)
            m = src.manifest(desc) if desc is not None else None
        if not isinstance(m, Manifest):
            return None, f"built on scratch: the base {name} has no {target}"
        cfg = read_config(src, m)
        if not cfg.platform.matches(target):
            return None, f"built on scratch: the base {name} is {cfg.platform}"
        return Base(m, cfg, src), f"on the upstream base {name}"
    except ArchportError as e:
        return None, f"built on scratch: the base {name} could not be read ({e})"


__all__ = ["GoStrategy", "Recipe", "recover", "trimpath_of", "build_command", "Toolchain",
           "writable_copy"]
