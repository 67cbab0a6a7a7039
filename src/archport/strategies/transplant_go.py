"""transplant's unowned binaries: Go programs rebuilt for the target.

A distro-based image carries ELF binaries no package owns (helm, tiller,
traefik, helm plugins).  Each is rebuilt by the go strategy's build step
(module download through GOPROXY with the checksum database, proactive and
reactive fixups, ``go build``), one binary at a time:

- what to build comes from the binary's Go build info (module, version,
  ``-ldflags``, tags), else from the catalog's ``[[binary]]`` for its path
  (a build from a checkout records ``(devel)``, a GOPATH build no module);
- a version the module proxy refuses is built only under ``--substitute``
  (:mod:`archport.toolchain.substitute`), recorded;
- a binary that is neither is refused by name: nothing is built.

Each binary's build goes through :class:`.cached.Cached`, kept by its
inputs like the go strategy's, so a repeated transplant does not compile again.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import replace
from pathlib import Path

from ..binaries.buildinfo import read_buildinfo
from ..assemble.layer import FileSpec
from ..errors import ArchportError
from ..fetch.goproxy import ModuleUnavailable, download_module
from ..platform import Platform
from ..toolchain import fixups as fx, substitute
from ..toolchain.gocompile import Recipe, Toolchain, strip_like, stripped
# The go strategy's build step, used per binary: an image may hold several.
from ..toolchain.gocompile import build_binary as go_build
from . import Env, NotPortable, Prepared, Product, Upstream
from .cached import Cached
from .contract import tag_of
from .gobuild import trimpath_of

CACHE_KIND = "transplant-go"


def recipes_for(up: Upstream, paths: list[str], root: Path) -> list[Recipe]:
    """What to build for each binary (paths without a leading slash, read
    from the extracted root), or :class:`NotPortable` naming those that
    cannot say."""
    recipes, refused = [], []
    comp, tag = up.component, tag_of(up)
    for path in paths:
        with open(root / path, "rb") as fh:
            try:
                info = read_buildinfo(fh)
            except ArchportError as e:
                refused.append(f"/{path} ({e})")
                continue
            bare = stripped(fh)          # stripped like upstream (no .symtab: -s -w)
        if info is not None and info.main.path and info.main.version not in ("", "(devel)"):
            recipes.append(Recipe(info.main.path, info.main.version, info.path or info.main.path,
                                  strip_like(info.ldflags, bare),
                                  info.tags, "/" + path, f"build info of /{path} ({info.go_version})",
                                  info.cgo_enabled, trimpath_of(info)))
            continue
        why = ("not a Go binary with build info" if info is None or not info.main.path else
               f"{info.main.path} built from a checkout: its build info names no version")
        known = comp.binary(tag, "/" + path) if comp is not None else None
        if known is None:
            refused.append(f"/{path} ({why})")
            continue
        pkg = known.module if known.package in ("", ".") else f"{known.module}/{known.package.removeprefix('./')}"
        version = known.version or comp.upstream_version(tag)
        recipes.append(Recipe(known.module, version, pkg, strip_like(shlex.join(known.ldflags_for(version)), bare),
                              known.tags,
                              "/" + path, f"catalog [[binary]] for /{path}; {why}", False, True,
                              gomod=known.gomod, local=known.local))
    if refused:
        raise NotPortable("cannot rebuild the upstream image's binaries that no package owns: " + "; ".join(refused),
                          "nothing was built; a binary without Go build info needs a catalog [[binary]] naming "
                          "its module and version")
    return recipes


class GoBinary:
    """The go strategy's build step for one binary, as the expensive step
    :class:`.cached.Cached` keeps (``context``: the recipe and the toolchain)."""

    name = CACHE_KIND

    def make(self, prepared: Prepared, target: Platform, env: Env) -> Product:
        r, go = prepared.context
        binary, steps = go_build(r, target, go, tuple(env.catalog.fixups), env.workdir, env.log)
        return Product({"binary": binary}, {"steps": [_step(s) for s in steps]})


def _prepared(r: Recipe, target: Platform, go: Toolchain, env: Env) -> Prepared:
    return Prepared(_inputs(r, target, go, env), (r, go), f"transplant: {r.binary}")


def _inputs(r: Recipe, target: Platform, go: Toolchain, env: Env) -> dict:
    return {"v": 2, "module": r.module, "version": r.version, "package": r.package, "ldflags": r.ldflags,
            "tags": list(r.tags), "go": go.version, "goos": target.os, "goarch": target.architecture,
            "goriscv64": go.env.get("GORISCV64", ""), "cgo": False, "trimpath": r.trimpath,
            "fixups": [f.to_dict() for f in env.catalog.fixups],
            **({"gomod": hashlib.sha256(r.gomod.encode()).hexdigest(),
                "local": [[m.module, m.source, list(m.files)] for m in r.local]} if r.gomod else {})}


def substitutes(recipes: list[Recipe], target: Platform, go: Toolchain, env: Env,
                cache: Cached) -> tuple[list[Recipe], list[str]]:
    """Each recipe whose exact module version cannot be fetched (and is not
    already built) takes the version ``--substitute`` names, recorded;
    without one, a refusal naming the binary and the catalog's proposal."""
    scratch = Path(env.workdir) / "transplant" / "modules"
    scratch.mkdir(parents=True, exist_ok=True)
    out, substituted, refused, hints = [], [], [], []
    for r in recipes:
        if cache.has(_prepared(r, target, go, env), env):
            out.append(r)
            continue
        given = substitute.chosen(env.go.substitutes, r.module, r.binary)
        try:
            download_module(go.go, go.env, r.module, r.version, scratch)
        except ModuleUnavailable as e:
            problem = str(e).splitlines()[0] if str(e) else "refused"
            if given is None:
                refused.append(f"{r.binary}: {r.module}@{r.version} cannot be fetched ({problem})")
                hints.append(substitute.refusal_hint(env.catalog, r.module, r.version, r.binary))
                continue
            name, version = given
            substituted.append(f"{r.binary}: built {r.module}@{version} instead of {r.version} "
                               f"(--substitute {name}={version}; {r.version} could not be fetched: {problem})")
            out.append(replace(r, version=version, ldflags=substitute.reversion(r.ldflags, r.version, version),
                               origin=f"{r.origin}; version {version} by --substitute"))
            continue
        if given is not None:
            env.log(f"transplant: {r.binary}: --substitute {given[0]}={given[1]} not used: "
                    f"{r.module}@{r.version} itself could be fetched")
        out.append(r)
    if refused:
        raise NotPortable("; ".join(refused), "; ".join(hints))
    return out, substituted


def rebuild_binaries(up: Upstream, paths: list[str], root: Path, target: Platform, env: Env,
                     notes: list[str]) -> tuple[list[FileSpec], list[str], list[str], list[str]]:
    """(files at the upstream paths and modes, fixups applied, substitutions,
    one line per rebuilt binary); progress and caveats go to ``notes``."""
    if not paths:
        return [], [], [], []
    recipes = recipes_for(up, paths, root)
    go = Toolchain.for_options(env.go, env.log)
    cache = Cached(GoBinary())
    recipes, substituted = substitutes(recipes, target, go, env, cache)
    files: list[FileSpec] = []
    fixups: list[str] = []
    lines: list[str] = []
    for r in recipes:
        product, hit = cache.product(_prepared(r, target, go, env), target, env)
        binary = product.files["binary"]
        steps = [fx.Step(**s) for s in product.record.get("steps", [])]
        if hit:
            notes.append(f"{r.binary}: from the build cache ({hit})")
        mode = (root / r.binary.lstrip("/")).stat().st_mode & 0o777      # set-id bits were not extracted
        files.append(FileSpec(r.binary, source=str(binary), mode=mode))
        fixups += [s.describe() for s in steps]
        line = f"{r.binary}: rebuilt {r.module}@{r.version} with {go.version} ({r.origin})"
        notes.append(line)
        lines.append(line)
        if r.trimpath and not r.ldflags:
            notes.append(f"{r.binary}: its build info records no -ldflags (a -trimpath build leaves them out), "
                         f"so -X values such as a version string were not reapplied")
    return files, fixups, substituted, lines


def _step(s: fx.Step) -> dict:
    return {"fixup": s.fixup, "action": s.action, "module": s.module, "old": s.old, "new": s.new, "why": s.why}


__all__ = ["rebuild_binaries", "recipes_for", "substitutes"]
