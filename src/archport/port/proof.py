"""Proof before a push: the built platform image keeps its contracts
(``check``) and runs under emulation (``smoke``), or nothing is pushed.
A recipe that needs the target's own kernel boots it (:mod:`archport.smoke.vm`),
the kernel taken from the same Debian archive settings as the deb and
transplant strategies."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from .. import reference
from ..assemble.image import ANN_VERSION
from ..check import Contract, check_image, target_profile
from ..errors import ArchportError
from ..oci import Manifest
from ..oci.config import ImageConfig
from ..platform import Platform, normalize
from ..progress import phase
from ..reference import Reference
from ..store import Source
from ..strategies import Env, Upstream
from .model import Options


def contracts(ref: Reference, opts: Options) -> list[Contract]:
    """The contracts the built image must keep: its own config's, and those of
    every container of ``opts.manifests`` that runs it."""
    own = [Contract()]
    if not opts.manifests:
        return own
    from ..k3s import containers, load_documents, using_image    # here: k3s's readers slow `archport --help`
    found = containers(load_documents(opts.manifests))
    chosen = using_image(found, ref)
    if not chosen:
        # The manifests name the upstream image (fully qualified rancher/x:TAG); ref may
        # be a mirror's or a prefixed name, or another tag: the contract is the same.
        def same_path(c) -> bool:
            p = reference.parse(c.image).path
            return ref.path == p or ref.path.endswith("/" + p)
        chosen = [c for c in found if same_path(c)]
    return own + [Contract(c.describe(), c.command, c.args, c.working_dir, c.env) for c in chosen]


@dataclass(frozen=True, slots=True)
class Checked:
    """``check``'s verdict, as the result shows it."""

    text: str                        # "ok (N contracts)" | "failed: …"
    ok: bool
    config: ImageConfig | None       # the built image's config (smoke reads its Entrypoint)


@dataclass(frozen=True, slots=True)
class Smoked:
    """The smoke run's verdict; ``next_step`` non-empty: the image must not be pushed."""

    text: str                        # "ok …" | "failed: …" | "skipped (--no-smoke)"
    output: str = ""                 # the run's last output
    next_step: str = ""


def check(env: Env, ref: Reference, source: Source, target: Platform, opts: Options) -> Checked:
    """The built image against its contracts (its own config's and the manifests')."""
    with phase(env.log, "check"):
        # riscv64: every binary must fit the profile the port builds for.
        isa = target_profile(opts.profile) if normalize(target).architecture == "riscv64" else None
        report = check_image(source, target, contracts(ref, opts), isa=isa)
    if report.ok:
        return Checked(f"ok ({len(report.outcomes)} contract{'s' if len(report.outcomes) != 1 else ''})",
                       True, report.config)
    bad = [f.message for f in report.all_findings() if f.is_error]
    return Checked("failed: " + "; ".join(bad[:3]), False, report.config)


def smoke(env: Env, ref: Reference, source: Source, child: Manifest, target: Platform, opts: Options,
          checked: Checked, strategy: str, up: Upstream | None = None) -> Smoked:
    """The catalog's recipe unless --smoke-args (a failure run again on
    upstream's host platform)."""
    if not opts.smoke:
        return Smoked("skipped (--no-smoke)")
    # Here, not above: smoke (and its VM) would slow every `archport --help`.
    from ..smoke import recipe as smoke_recipe
    from ..smoke.compare import smoke_compared
    from ..smoke.run import Options as SmokeOptions
    args = opts.smoke_args
    if args is not None and checked.config is not None and not checked.config.entrypoint:
        args = (*(checked.config.cmd or ()), *args)    # no Entrypoint: the args follow the Cmd's program
    with phase(env.log, f"smoke {target} (at most {opts.smoke_timeout:g}s)"):
        rebuilt_at = built_as(child, ref.tag or "") if strategy == "go" else None
        recipe = (up.component.smoke_recipe(ref.tag or "", rebuilt_at)
                  if up is not None and up.component else None)
        sopts = smoke_recipe.apply(SmokeOptions(platform=target, args=args, timeout=opts.smoke_timeout,
                                                tmp_parent=str(env.workdir)), recipe)
        if recipe is not None and recipe.kernel is not None and args is None:
            from ..smoke import vm                 # as above: only a recipe with a kernel needs it
            try:
                boot = vm.boot_for(target, recipe.kernel, archive=env.debian.archive, keyring=env.debian.keyring,
                                   suite=env.debian.suite, cache_dir=Path(env.cache_dir), http=env.http)
            except ArchportError as e:
                return Smoked(f"failed: {e}", next_step="its recipe needs the target's kernel, which could not be "
                                                        "had; nothing was pushed")
            sopts = dataclasses.replace(sopts, boot=boot)
        r = smoke_compared(source, sopts, upstream=up.source if up is not None else None, progress=env.log,
                           timeout_passes=True)
    text, step = smoke_recipe.summary(r, opts.smoke_timeout)
    return Smoked(text, (r.stdout + r.stderr)[-2000:], step or "")


def built_as(child: Manifest, tag: str) -> str | None:
    """The version a rebuilt Go program says it is, when not the tag's: the
    provenance the go strategy records (its module version, from the
    upstream binary's build info or ``--substitute``)."""
    version = (child.annotations or {}).get(ANN_VERSION, "")
    if not version or version.removeprefix("v") == tag.removeprefix("v") or not version.startswith("v"):
        return None
    return version
