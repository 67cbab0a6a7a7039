"""Port one image, and many: the orchestration (see the package docstring)."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .. import reference
from ..check import Contract, check_image
from ..copy import transfer
from ..errors import ArchportError, BadInput, NotFound
from ..layout import LayoutSink, LayoutSource
from ..oci import Index, Manifest
from ..oci.config import parse_config
from ..platform import Platform, normalize
from ..publish import append_platform
from ..reference import Reference
from ..store import Sink, Source
from ..strategies import Env, NotPortable, Outcome, Upstream
from .destination import DestTag
from .model import Destination, ImageResult, Options

#: (strategy name, module under archport.strategies), in the order ``auto`` tries them.
ORDER = (("present", "present"), ("mirror", "mirror"), ("go", "gobuild"), ("release", "release"),
         ("c", "c"), ("deb", "deb"))


@dataclass
class Session:
    """What the CLI (the composition root) hands the orchestration."""

    env: Env                                     # for the strategies
    dest: Destination
    open_source: Callable[[str], Source]         # mirrors/credentials applied
    registry: Any = None                         # Client, for a registry destination
    airgap: Sink | None = None
    progress: Callable[[str], None] = lambda _m: None


#: Skipped by ``--rebuild``: it exists to replace the platform image the tag
#: has (e.g. one built with a Go whose runtime crashes on Sv57 kernels), so
#: only strategies that build from source or packages make sense.
NOT_REBUILDING = ("present", "mirror")


def load_strategies(names: tuple[str, ...] | None, rebuild: bool = False) -> list:
    """The strategies whose module exists, in order; ``present`` always (a tag
    that has the platform needs nothing built, whatever ``--strategy`` says),
    unless rebuilding."""
    found = []
    for name, module in ORDER:
        if names and name not in names and name != "present":
            continue
        if rebuild and name in NOT_REBUILDING:
            continue
        try:
            mod = importlib.import_module(f"archport.strategies.{module}")
        except ModuleNotFoundError as e:
            if e.name == f"archport.strategies.{module}":
                continue
            raise
        s = _strategy_of(mod, name)
        if s is not None:
            found.append(s)
    return found


def _strategy_of(mod, name: str):
    s = getattr(mod, "STRATEGY", None)
    if s is not None:
        return s
    for value in vars(mod).values():
        if getattr(value, "name", None) == name and hasattr(value, "consider") and hasattr(value, "build"):
            if isinstance(value, type):
                try:
                    return value()
                except TypeError:
                    continue
            return value
    return None


# -- upstream ------------------------------------------------------------------

def open_upstream(s: Session, ref: Reference, component, target: Platform) -> Upstream:
    source = s.open_source(str(ref))
    top = source.resolve()
    if isinstance(top, Manifest):
        with source.open_blob(top.config) as chunks:
            cfg = parse_config(b"".join(chunks))
        return Upstream(ref, source, top, (normalize(cfg.platform),), top, cfg, component)
    platforms = tuple(top.platforms())
    entries = [d for d in top.manifests if d.platform is not None and not d.platform.matches(target)
               and d.platform.os == target.os]
    entries.sort(key=lambda d: (d.platform.architecture != "amd64", d.platform.architecture != "arm64"))
    for d in entries:
        m = source.manifest(d)
        if isinstance(m, Manifest):
            with source.open_blob(m.config) as chunks:
                cfg = parse_config(b"".join(chunks))
            return Upstream(ref, source, top, platforms, m, cfg, component)
    return Upstream(ref, source, top, platforms, None, None, component)


class _Pinned:
    """A Source whose top is one given manifest (to check/smoke a platform image)."""

    def __init__(self, source: Source, m: Manifest) -> None:
        self.source, self.m, self.name = source, m, source.name

    def resolve(self):
        return self.m

    def manifest(self, desc):
        return self.source.manifest(desc)

    def open_blob(self, desc):
        return self.source.open_blob(desc)


# -- one image -----------------------------------------------------------------

def port_image(s: Session, image: str, opts: Options, *, from_release: bool = False) -> ImageResult:
    started = time.monotonic()
    target = normalize(opts.target)
    ref = reference.parse(image)
    catalog = s.env.catalog
    try:
        component = catalog.component(str(ref))
    except BadInput:
        component = None
    res = ImageResult(ref.familiar(), s.dest.describe(ref))
    try:
        _port(s, ref, component, target, opts, res, from_release)
    except NotPortable as e:
        res.status, res.reason, res.next_step = "failed", e.reason, e.next_step or res.next_step
    except BadInput:
        raise
    except ArchportError as e:
        res.status, res.reason = "failed", str(e)
        res.next_step = res.next_step or "fix the cause and run the same command again: finished images stay done"
    res.seconds = time.monotonic() - started
    return res


def _port(s: Session, ref: Reference, component, target: Platform, opts: Options, res: ImageResult,
          from_release: bool) -> None:
    tag = DestTag(s.dest, s.registry, s.env.cache_dir, ref)
    if not opts.explain and not opts.rebuild:
        done = tag.done(target)
        if done is not None:
            res.status, res.reason = "done", f"{res.destination} already has {target}"
            res.digest, res.platform_digest = done
            _airgap(s, tag, target)
            return
    try:
        up = open_upstream(s, ref, component, target)
    except NotFound as e:
        if component is None:
            raise BadInput(f"unknown image {ref.familiar()}: not in the catalog, and upstream says {e}") from None
        if not from_release:
            raise BadInput(f"unknown version {ref.familiar()}: {e}") from None
        raise
    if opts.rebuild and not opts.explain and _already_rebuilt(s, tag, up, target, res):
        return
    base = up if opts.explain else tag.base(up, opts.overwrite)
    outcome = _choose(s, up, target, opts, res)
    if outcome is None:
        return
    res.strategy, res.reason, res.fixups = outcome.strategy, outcome.reason, outcome.fixups
    res.notes = tuple(outcome.notes)
    child_source, child = _materialize(s, outcome, ref)
    if not _verify(s, ref, child_source, child, target, opts, res):
        res.status = "failed"
        res.next_step = res.next_step or "nothing was pushed; inspect the image with archport check/smoke"
        return
    sink, name = tag.sink()
    try:
        if outcome.strategy == "present":
            r = transfer(up.source, sink, name=name, workers=opts.workers)
            res.digest, res.status = r.digest, "present"
        else:
            edit = append_platform(sink, name, base.top, base.source, child, child_source, target,
                                   replace=opts.rebuild, workers=opts.workers)
            res.digest, res.status = str(edit.index.digest), "ported"
            res.notes += tuple(f"replaced upstream's {target} image {d.digest}" for d in edit.replaced)
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    res.platform_digest = str(child.digest)
    tag.remember(target, res.digest, res.platform_digest)
    _airgap(s, tag, target)


def _already_rebuilt(s: Session, tag: DestTag, up: Upstream, target: Platform, res: ImageResult) -> bool:
    """``--rebuild`` is done once the destination's platform image is not the
    upstream's own: a rerun then changes nothing, like any other port."""
    done = tag.done(target)
    if done is None:
        return False
    if isinstance(up.top, Index):
        desc = up.top.find(target)
        theirs = str(desc.digest) if desc is not None else ""
    else:
        theirs = str(up.top.digest) if any(p.matches(target) for p in up.platforms) else ""
    if done[1] == theirs:
        return False
    res.status, res.reason = "done", f"{res.destination} already has a rebuilt {target} (upstream's is {theirs or 'absent'})"
    res.digest, res.platform_digest = done
    _airgap(s, tag, target)
    return True


def _choose(s: Session, up: Upstream, target: Platform, opts: Options, res: ImageResult) -> Outcome | None:
    strategies = load_strategies(opts.strategies, opts.rebuild)
    applicable = []
    for st in strategies:
        d = st.consider(up, target, s.env)
        res.decisions.append((st.name, d.applies, d.reason))
        if d.applies:
            applicable.append(st)
    if opts.explain:
        res.status = "explained"
        res.strategy = applicable[0].name if applicable else ""
        res.reason = next((r for n, a, r in res.decisions if a), _unsupported(up, target)[0])
        return None
    if not applicable:
        res.status = "unsupported"
        res.reason, res.next_step = _unsupported(up, target)
        return None
    failures: list[NotPortable] = []
    for st in applicable:
        s.progress(f"{up.ref.familiar()}: trying {st.name}")
        try:
            return st.build(up, target, s.env)
        except NotPortable as e:
            failures.append(e)
            res.decisions.append((st.name, False, f"failed: {e.reason.splitlines()[0]}"))
    last = failures[-1]
    reason = last.reason if len(failures) == 1 else "\n".join(f"{st.name}: {f.reason}" for st, f in
                                                               zip(applicable, failures))
    raise NotPortable(reason, last.next_step)


def _unsupported(up: Upstream, target: Platform) -> tuple[str, str]:
    comp, tag = up.component, up.ref.tag or ""
    distro = comp.distro_for(tag) if comp is not None else None
    if distro is not None:
        needs = "; ".join(distro.transplant_needs)
        return (f"not supported yet: {distro.reason}",
                f"a later transplant strategy needs: {needs}" if needs else "a later transplant strategy")
    if comp is None:
        return (f"not supported yet: no strategy applies to {up.ref.familiar()} and the catalog does not know it",
                "add the component to the catalog (--catalog EXTRA.toml)")
    return f"not supported yet: no strategy applies to {comp.name} for {target}", "extend the catalog entry"


def _materialize(s: Session, outcome: Outcome, ref: Reference) -> tuple[Source, Manifest]:
    if outcome.built is None:
        if outcome.manifest is None or outcome.source is None:
            raise ArchportError(f"strategy {outcome.strategy} produced nothing")
        return _Pinned(outcome.source, outcome.manifest), outcome.manifest
    root = Path(s.env.workdir) / f"built-{outcome.built.manifest.digest.hex[:16]}"
    sink = LayoutSink(root)
    try:
        outcome.built.write(sink, "built")
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    return LayoutSource(root, "built"), outcome.built.manifest


def _contracts(s: Session, ref: Reference, opts: Options) -> list[Contract]:
    contracts = [Contract()]
    if not opts.manifests:
        return contracts
    from ..k3s import containers, load_documents, using_image
    found = containers(load_documents(opts.manifests))
    chosen = using_image(found, ref)
    if not chosen:
        # The manifests name the upstream image (docker.io/rancher/x:TAG); ref may
        # be a mirror's or a prefixed name, or another tag: the contract is the same.
        def same_path(c) -> bool:
            p = reference.parse(c.image).path
            return ref.path == p or ref.path.endswith("/" + p)
        chosen = [c for c in found if same_path(c)]
    return contracts + [Contract(c.describe(), c.command, c.args, c.working_dir, c.env) for c in chosen]


def _verify(s: Session, ref: Reference, source: Source, child: Manifest, target: Platform, opts: Options,
            res: ImageResult) -> bool:
    report = check_image(source, target, _contracts(s, ref, opts))
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
    from ..smoke.run import Options as SmokeOptions, smoke
    args = opts.smoke_args
    if args is not None and report.config is not None and not report.config.entrypoint:
        args = (*(report.config.cmd or ()), *args)    # no Entrypoint: the args follow the Cmd's program
    r = smoke(source, SmokeOptions(platform=target, args=args, timeout=opts.smoke_timeout,
                                   tmp_parent=str(s.env.workdir)), progress=s.progress)
    res.smoke_output = (r.stdout + r.stderr)[-2000:]
    if r.error:
        res.smoke = f"failed: {r.error}"
    elif r.timed_out:
        res.smoke = f"ok (still running after {opts.smoke_timeout:g}s, a server)"
    elif r.exit_code == 0:
        res.smoke = f"ok (exit 0 via {r.path})"
    else:
        res.smoke = f"failed: exit {r.exit_code}"
    if res.smoke.startswith("failed"):
        res.next_step = "the image does not run under emulation; nothing was pushed"
        return False
    return True


def _airgap(s: Session, tag: DestTag, target: Platform) -> None:
    if s.airgap is not None:
        transfer(tag.source(), s.airgap, name=tag.ref.normalized(), platforms=[target], keep_index=True)


# -- many images ---------------------------------------------------------------

def port_all(s: Session, images: list[str], opts: Options, *, from_release: bool = False,
             on_result: Callable[[ImageResult], None] | None = None) -> list[ImageResult]:
    results = []
    for image in images:
        r = port_image(s, image, opts, from_release=from_release)
        results.append(r)
        if on_result is not None:
            on_result(r)
    return results
