"""Proof before a push: the built platform image keeps its contracts
(``check``) and runs under emulation (``smoke``), or nothing is pushed.
A recipe that needs the target's own kernel boots it (:mod:`archport.smoke.vm`),
the kernel taken from the same Debian archive settings as the deb and
transplant strategies."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .. import reference
from ..check import Contract, check_image
from ..errors import ArchportError
from ..oci import Manifest
from ..platform import Platform
from ..progress import phase
from ..reference import Reference
from ..store import Source
from ..strategies import Env, Upstream
from .model import ImageResult, Options


def contracts(ref: Reference, opts: Options) -> list[Contract]:
    """The contracts the built image must keep: its own config's, and those of
    every container of ``opts.manifests`` that runs it."""
    own = [Contract()]
    if not opts.manifests:
        return own
    from ..k3s import containers, load_documents, using_image
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


def prove(env: Env, ref: Reference, source: Source, child: Manifest, target: Platform, opts: Options,
          res: ImageResult, up: Upstream | None = None) -> bool:
    """check, then smoke (the catalog's recipe unless --smoke-args; a failure
    run again on upstream's host platform); False, with the next step in
    ``res``, when the image must not be pushed."""
    with phase(env.log, "check"):
        report = check_image(source, target, contracts(ref, opts))
    if report.ok:
        res.check = f"ok ({len(report.outcomes)} contract{'s' if len(report.outcomes) != 1 else ''})"
    else:
        bad = [f.message for f in report.all_findings() if f.is_error]
        res.check = "failed: " + "; ".join(bad[:3])
        res.next_step = "the image breaks its contract; nothing was pushed"
        return False
    if not opts.smoke:
        res.smoke = "skipped (--no-smoke)"
        return True
    from ..smoke import recipe as smoke_recipe
    from ..smoke.compare import smoke_compared
    from ..smoke.run import Options as SmokeOptions
    args = opts.smoke_args
    if args is not None and report.config is not None and not report.config.entrypoint:
        args = (*(report.config.cmd or ()), *args)    # no Entrypoint: the args follow the Cmd's program
    with phase(env.log, f"smoke {target} (at most {opts.smoke_timeout:g}s)"):
        rebuilt_at = built_as(child, ref.tag or "") if res.strategy == "go" else None
        recipe = (up.component.smoke_recipe(ref.tag or "", rebuilt_at)
                  if up is not None and up.component else None)
        sopts = smoke_recipe.apply(SmokeOptions(platform=target, args=args, timeout=opts.smoke_timeout,
                                                tmp_parent=str(env.workdir)), recipe)
        if recipe is not None and recipe.kernel is not None and args is None:
            from ..smoke import vm
            try:
                boot = vm.boot_for(target, recipe.kernel, archive=env.debian_archive, keyring=env.debian_keyring,
                                   suite=env.debian_suite, cache_dir=Path(env.cache_dir), http=env.http)
            except ArchportError as e:
                res.smoke = f"failed: {e}"
                res.next_step = "its recipe needs the target's kernel, which could not be had; nothing was pushed"
                return False
            sopts = dataclasses.replace(sopts, boot=boot)
        r = smoke_compared(source, sopts, upstream=up.source if up is not None else None, progress=env.log,
                           timeout_passes=True)
    res.smoke_output = (r.stdout + r.stderr)[-2000:]
    res.smoke, step = smoke_recipe.summary(r, opts.smoke_timeout)
    if step:
        res.next_step = step
        return False
    return True


def built_as(child: Manifest, tag: str) -> str | None:
    """The version a rebuilt Go program says it is, when not the tag's: the
    provenance the go strategy records (its module version, from the
    upstream binary's build info or ``--substitute``)."""
    from ..build.assemble import ANN_VERSION
    version = (child.annotations or {}).get(ANN_VERSION, "")
    if not version or version.removeprefix("v") == tag.removeprefix("v") or not version.startswith("v"):
        return None
    return version
