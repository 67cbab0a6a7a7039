"""``go``: rebuild the same Go module at the same version for the target.

    upstream binary ──read_buildinfo──► module@version, -ldflags, -tags, CGO
        (or the catalog's [[go]] table when the binary cannot be read or its
        -ldflags went unrecorded; its {commit}/{date} from the module's .info)
    go mod download -json MODULE@VERSION   (GOPROXY/GOSUMDB/GOFLAGS/GOPRIVATE as given)
    copy to a writable tree ─► proactive fixups ─► go build ─► reactive fixups ─► rebuild   (:mod:`archport.toolchain.gocompile`)
    assemble: the binary at the upstream path, the upstream config, provenance

``CGO_ENABLED=0 GOOS=linux GOARCH=<target>``, ``-trimpath`` as upstream built
(its build info says; trimmed when it cannot say); the toolchain is the
``go`` on PATH (≥ 1.20: older runtimes crash on Sv57 kernels, golang/go#54104) or
``--go-version`` through GOTOOLCHAIN.  The build is staged (prepare → make →
finish) so that :class:`archport.strategies.cached.Cached` keeps the binary
by its inputs: a repeated port neither downloads nor compiles.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import replace
from pathlib import Path

from ..assemble.image import ANN_CHANGES, Base, History, assemble, provenance
from ..binaries.buildinfo import BuildInfo
from ..catalog import riscv
from ..assemble.layer import FileSpec
from ..errors import ArchportError
from ..fetch.goproxy import ModuleInfo, ModuleUnavailable, download_module, module_info
from ..images import open_source
from ..oci import Manifest, read_config
from ..platform import Platform, normalize
from ..reference import parse as parse_reference
from ..toolchain import fixups as fx, substitute
from ..toolchain.gocompile import Recipe, Toolchain, build_binary, go_binary, strip_like
from ..toolchain.imagefile import find_binary
from . import Decision, Env, NotPortable, Outcome, Prepared, Product, Upstream, run_staged
from . import recorded
from .carry import carry
from .contract import blocked

ANN_MODULE = "io.archport.go.module"
ANN_GO = "io.archport.go.version"
ANN_FIXUPS = "io.archport.fixups"


class GoStrategy:
    name = "go"

    def consider(self, up: Upstream, target: Platform, env: Env) -> Decision:
        comp, tag = up.component, up.ref.tag or ""
        if comp is not None and comp.kind != "go":
            return Decision(False, f"the catalog builds {comp.name} as {comp.kind}, not from a Go module")
        if comp is not None and (why := blocked(up)):
            return Decision(False, why)
        if comp is not None and comp.go_build(tag) is not None:
            return Decision(True, f"{comp.go_build(tag).module} is a Go module: rebuild it for {target}")
        if up.manifest is None:
            return Decision(False, "no upstream platform image to read a Go binary from")
        return Decision(True, "will read the Go build info of the upstream entrypoint binary")

    def build(self, up: Upstream, target: Platform, env: Env, decision: Decision | None = None) -> Outcome:
        return run_staged(self, up, target, env, decision)

    def prepare(self, up: Upstream, target: Platform, env: Env, decision: Decision | None) -> Prepared:
        target = normalize(target)
        go = Toolchain.for_options(env.go, env.log)
        recipe = substituted(recover(up, env), up, env, go)
        graph_fixups = tuple(env.catalog.fixups)
        inputs = {
            "v": 2, "module": recipe.module, "version": recipe.version, "package": recipe.package,
            "ldflags": recipe.ldflags, "tags": list(recipe.tags), "go": go.version,
            "goos": target.os, "goarch": target.architecture, "goriscv64": go.env.get("GORISCV64", ""),
            "cgo": False, "trimpath": recipe.trimpath,
            "fixups": [f.to_dict() for f in graph_fixups],
        }
        return Prepared(inputs, (recipe, go, graph_fixups), f"go: {recipe.module}@{recipe.version}")

    def make(self, prepared: Prepared, target: Platform, env: Env) -> Product:
        recipe, go, graph_fixups = prepared.context
        try:
            binary, steps = build_binary(recipe, normalize(target), go, graph_fixups, env.workdir, env.log)
        except NotPortable as e:
            # The compile step knows no catalog: its refusal gets the catalog's proposal here.
            proposal = substitute.proposal(env.catalog, recipe.module, recipe.version)
            if proposal is None or recipe.substituted or not e.reason.startswith("go mod download "):
                raise
            raise NotPortable(e.reason, substitute.refusal_hint(env.catalog, recipe.module, recipe.version,
                                                                recipe.binary)) from None
        return Product({"binary": binary}, {"steps": [_step_dict(s) for s in steps]})

    def finish(self, up: Upstream, target: Platform, env: Env, prepared: Prepared, product: Product) -> Outcome:
        recipe, go, _ = prepared.context
        steps = [fx.Step(**s) for s in product.record.get("steps", [])]
        origins: dict[str, str] = {}
        built = _assemble(up, normalize(target), env, recipe, go, steps, product.files["binary"], origins)
        why = f"rebuilt {recipe.module}@{recipe.version} with {go.version} ({recipe.origin})"
        notes = (f"toolchain {go.version}",) + recipe.notes + ((recipe.substituted,) if recipe.substituted else ())
        if not recipe.trimpath:
            notes += ("built without -trimpath, as upstream was (its build info has no -trimpath=true): "
                      "the binary records the build's directories",)
        return Outcome(self.name, why, built=built, fixups=tuple(s.describe() for s in steps), notes=notes,
                       record=recorded.go_record(self.name, recipe, go.version, steps, _base_name(up, built),
                                                 origins))




# -- recovering the recipe ---------------------------------------------------------

def substituted(recipe: Recipe, up: Upstream, env: Env, go: Toolchain) -> Recipe:
    """``--substitute NAME=VERSION`` for this module: used only when its exact
    version cannot be fetched (a proxy may refuse it outright), recorded in
    the recipe; ``-X`` values that carried the old version carry the new one.
    Without the flag nothing is looked up here: a build from archport's cache
    needs no network, and a refusal at download time names the flag."""
    given = substitute.chosen(env.go.substitutes, recipe.module, recipe.binary)
    if given is None:
        return recipe
    name, version = given
    try:
        download_module(go.go, go.env, recipe.module, recipe.version, Path(env.workdir) / "go-modules")
    except ModuleUnavailable as e:
        problem = str(e).splitlines()[0] if str(e) else "refused"
        record = (f"{recipe.binary}: built {recipe.module}@{version} instead of {recipe.version} "
                  f"(--substitute {name}={version}; {recipe.version} could not be fetched: {problem})")
        ldflags, notes = substitute.reversion(recipe.ldflags, recipe.version, version), recipe.notes
        tag = up.ref.tag or ""
        gb = up.component.go_build(tag) if up.component is not None else None
        if gb is not None and gb.module == recipe.module and "catalog" in recipe.origin:
            # The -X values came from the catalog's templates: fill them for
            # the version really built ({commit} and {date} from its .info).
            as_tag = version if tag.startswith("v") else version.removeprefix("v")
            values, notes = _values_for(gb, as_tag, version, env)
            ldflags = shlex.join(gb.ldflags_for(values))
        return replace(recipe, version=version, ldflags=ldflags, notes=notes,
                       origin=f"{recipe.origin}; version {version} by --substitute", substituted=record,
                       instead_of=recipe.version)
    env.log(f"go: --substitute {name}={version} not used: {recipe.module}@{recipe.version} itself can be fetched")
    return recipe


def recover(up: Upstream, env: Env) -> Recipe:
    comp, tag = up.component, up.ref.tag or ""
    gb = comp.go_build(tag) if comp is not None else None
    contract = comp.contract(tag) if comp is not None else None
    cfg = up.config
    entry = list((cfg.entrypoint or ()) + (cfg.cmd or ()))[:1] if cfg else []
    wanted = contract.binary if contract is not None and contract.binary else (entry[0] if entry else "")
    info: BuildInfo | None = None
    path, bare = "", False
    why_not = "no upstream platform image"
    if up.manifest is not None and wanted:
        try:
            path, info, bare = find_binary(up.source, up.manifest, cfg.path if cfg else "", wanted, env.workdir)
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
            # Stripped like upstream: its binary has no .symtab, so neither does ours.
            return Recipe(info.main.path, version, info.path or info.main.path, strip_like(ldflags, bare),
                          info.tags,
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
    return Recipe(gb.module, version, pkg, strip_like(shlex.join(gb.ldflags_for(values)), bare), gb.tags, binary,
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
    go = go_binary(env.go.env)
    try:
        if go is None:
            raise ArchportError("no go command on PATH")
        info = module_info(go, env.go.env, gb.module, version, Path(env.workdir))
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


def _step_dict(s: fx.Step) -> dict:
    return {"fixup": s.fixup, "action": s.action, "module": s.module, "old": s.old, "new": s.new, "why": s.why}


# -- the image ---------------------------------------------------------------------

def _assemble(up: Upstream, target: Platform, env: Env, recipe: Recipe, go: Toolchain,
              steps: list[fx.Step], binary: Path, origins: dict[str, str]):
    base, note = _base(up, target, env)
    if note:
        env.log(f"go: {note}")
    ids = ",".join(dict.fromkeys(s.fixup for s in steps))
    ann = provenance(source=recipe.module, version=recipe.version, strategy="go",
                     changes=[s.describe() for s in steps])
    ann.update({ANN_MODULE: f"{recipe.module}@{recipe.version}", ANN_GO: go.version})
    # The profile GORISCV64 built for (Go's default when the env names none).
    ann.update(riscv.annotation(target.architecture, go.env.get("GORISCV64") or riscv.DEFAULT))
    if ids:
        ann[ANN_FIXUPS] = ids
    if recipe.substituted:
        ann[substitute.ANNOTATION] = recipe.substituted
    files = [FileSpec(recipe.binary, source=str(binary), mode=0o755)]
    if base is None and up.manifest is not None and up.source is not None:
        kept, left = carry(up.source, up.manifest, Path(env.workdir), posixpath.normpath("/" + recipe.binary.lstrip("/")),
                           origins)
        files = kept + files
        plat = up.config.platform if up.config else "reference"
        ann[ANN_CHANGES] = "; ".join(filter(None, [
            ann.get(ANN_CHANGES, ""), f"carried {sum(f.kind == 'file' for f in kept)} files from the upstream "
            f"{plat} image" + (f"; not carried (ELF for another machine): {', '.join(left)}" if left else "")]))
        if left:
            env.log(f"go: not carried (ELF for another machine): {', '.join(left)}")
    return assemble(base, files, platform=target, family=up.family, reference_config=up.config,
                    annotations=ann, workdir=str(env.workdir),
                    history=History(env.source_date_epoch,
                                    f"{recipe.module}@{recipe.version} rebuilt by archport with {go.version}"))


def _base_name(up: Upstream, built) -> str:
    """The base image by digest ("name@sha256:…"), when the image was built on one."""
    name = (up.manifest.annotations.get("org.opencontainers.image.base.name") if up.manifest else None) or ""
    if built.base is None or not name:
        return ""
    return f"{name.partition('@')[0]}@{built.base.manifest.digest}"


def _base(up: Upstream, target: Platform, env: Env) -> tuple[Base | None, str]:
    """The upstream base when it has the target, else scratch (with why)."""
    name = (up.manifest.annotations.get("org.opencontainers.image.base.name") if up.manifest else None) or ""
    if not name or env.registry is None:
        return None, "built on scratch (the upstream image names no base image)"
    try:
        src = open_source(parse_reference(name), env.registry)
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


__all__ = ["GoStrategy", "Recipe", "recover", "substituted", "trimpath_of", "Toolchain"]
