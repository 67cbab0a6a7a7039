"""Port one image, and many: the orchestration (see the package docstring)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from ..copy import transfer
from ..errors import ArchportError, BadInput, MirrorFailed, NotFound, TransportError
from ..images import Pinned, open_source
from ..oci import Index, Manifest, read_config
from ..platform import Platform, normalize
from ..publish import Sourced, append_platform
from ..reference import Reference
from ..store import Sink, Source
from ..strategies import Decision, Env, NotPortable, Outcome, Strategy, Upstream
from ..strategies.c import C
from ..strategies.cached import Cached
from ..strategies.deb import Deb
from ..strategies.gobuild import GoStrategy
from ..strategies.mirror import Mirror
from ..strategies.present import Present
from ..strategies.release import ReleaseStrategy
from ..strategies.transplant import Transplant
from . import attesting, fetchable, mirrored
from .destination import DestTag
from .model import Destination, ImageResult, Options
from .proof import check, smoke

#: The strategies, in the order ``auto`` tries them.  The ones that compile
#: keep their outputs by their inputs (the build cache wraps them).
ORDER: tuple[Strategy, ...] = (Present(), Mirror(), Cached(GoStrategy()), ReleaseStrategy(), Cached(C()), Deb(),
                                Transplant())


@dataclass
class Session:
    """What the CLI (the composition root) hands the orchestration.  The
    registry client and the progress callback are the strategies' own
    (``env.registry``, ``env.log``): one bag for everyone.  ``reporter``
    (:class:`archport.write.Reporter`) hears the pushes' bytes."""

    env: Env
    dest: Destination | None          # None: ``--explain`` without ``--to``
    airgap: Sink | None = None
    reporter: Any = None
    signer: Any = None                # archport.attest.sign.Signer: --sign KEYFILE


#: Skipped by ``--rebuild``: it exists to replace the platform image the tag
#: has (e.g. one built with a Go whose runtime crashes on Sv57 kernels), so
#: only strategies that build from source or packages make sense.
NOT_REBUILDING = ("present", "mirror")


def load_strategies(names: tuple[str, ...] | None, rebuild: bool = False) -> list[Strategy]:
    """The strategies to try, in order; ``present`` always (a tag that has the
    platform needs nothing built, whatever ``--strategy`` says), unless rebuilding."""
    return [st for st in ORDER
            if (not names or st.name in names or st.name == "present")
            and not (rebuild and st.name in NOT_REBUILDING)]


# -- upstream ------------------------------------------------------------------

def open_upstream(s: Session, ref: Reference, component, target: Platform) -> Upstream:
    source = open_source(ref, s.env.registry)
    top = source.resolve()
    if isinstance(top, Manifest):
        cfg = read_config(source, top)
        return Upstream(ref, source, top, (normalize(cfg.platform),), top, cfg, component)
    platforms = tuple(top.platforms())
    entries = [d for d in top.manifests if d.platform is not None and not d.platform.matches(target)
               and d.platform.os == target.os]
    entries.sort(key=lambda d: (d.platform.architecture != "amd64", d.platform.architecture != "arm64"))
    for d in entries:
        m = source.manifest(d)
        if isinstance(m, Manifest):
            return Upstream(ref, source, top, platforms, m, read_config(source, m), component)
    return Upstream(ref, source, top, platforms, None, None, component)


# -- one image -----------------------------------------------------------------

def port_image(s: Session, ref: Reference, opts: Options, *, from_release: bool = False) -> ImageResult:
    started = time.monotonic()
    try:
        component = s.env.catalog.component(str(ref))
    except BadInput:
        component = None
    res = ImageResult(ref.familiar(), s.dest.describe(ref) if s.dest is not None else "")
    res = _port(s, ref, component, normalize(opts.target), opts, res, from_release)
    return replace(res, seconds=time.monotonic() - started)


def _mirrored(s: Session, ref: Reference, e: ArchportError) -> ArchportError:
    """``e``, or what the ref's --mirror hosts answered when they are the cause."""
    mirror_only = bool(getattr(getattr(s.env.registry, "options", None), "mirror_only", False))
    return mirrored.failure(e, ref.domain, mirror_only) or e


def _failed(s: Session, res: ImageResult, e: ArchportError) -> ImageResult:
    """``res`` as far as it got, failed with ``e``'s reason and the next step."""
    if isinstance(e, NotPortable):
        return replace(res, status="failed", reason=e.reason, next_step=e.next_step or res.next_step)
    # An error that knows what would help (HostUnreachable: a mirror, an
    # oci: copy) says it; otherwise a rerun continues where this one stopped.
    next_step = getattr(e, "next_step", "") or res.next_step or \
        "fix the cause and run the same command again: finished images stay done"
    # HostUnreachable: where we push, not pull
    if getattr(e, "domain", None) and s.dest is not None and e.domain == s.dest.domain:
        next_step = f"check the --to registry name {e.domain}: this machine must reach where it pushes"
    return replace(res, status="failed", reason=str(e), next_step=next_step)


def _port(s: Session, ref: Reference, component, target: Platform, opts: Options, res: ImageResult,
          from_release: bool) -> ImageResult:
    """Is it done at the destination, else explain, else build, prove and push."""
    try:
        if s.dest is None:                  # explain without --to: nothing to consult
            return _explain(s, None, ref, component, target, opts, res, from_release)
        tag = DestTag(s.dest, s.env.registry, s.env.cache_dir, ref)
        # Explain consults the destination too: a tag that has the platform
        # needs nothing, whatever strategy would apply upstream.
        # An unreadable --to fails explain too: it cannot say whether the port
        # is done there (without --to, explain says what each kind would get).
        done = None if opts.rebuild else tag.done(target)
        if done is not None:
            res = replace(res, status="done", reason=f"{res.destination} already has {target}",
                          digest=done[0], platform_digest=done[1])
            if opts.explain:
                return replace(res, notes=res.notes + (
                    f"read live from {res.destination}: it has {target}; no strategy considered",))
            _airgap(s, tag, target)
            return res
        if opts.explain:
            return _explain(s, tag, ref, component, target, opts, res, from_release)
        up = _open(s, ref, component, target, from_release)
        rebuilt = _already_rebuilt(tag, up, target, res) if opts.rebuild else None
        if rebuilt is not None:
            res = rebuilt
            _airgap(s, tag, target)
            return res
        base = tag.base(up, opts.overwrite)
        res, outcome = _choose(s, up, target, opts, res)
    except BadInput:
        raise
    except ArchportError as e:
        return _failed(s, res, _mirrored(s, ref, e))
    if outcome is None:
        return res
    return _prove_and_push(s, tag, ref, up, base, outcome, target, opts, res)


def _prove_and_push(s: Session, tag: DestTag, ref: Reference, up: Upstream, base, outcome: Outcome,
                    target: Platform, opts: Options, res: ImageResult) -> ImageResult:
    """check and smoke the built image; only then the push: upstream as is
    (``present``), else its platforms digest-preserved with the new child
    appended (or replacing), and the airgap copy."""
    res = replace(res, strategy=outcome.strategy, reason=outcome.reason, fixups=outcome.fixups,
                  notes=tuple(outcome.notes),
                  isa_profile=opts.profile if normalize(target).architecture == "riscv64" else "")
    try:
        child_source, child = _materialize(s, outcome, ref)
        checked = check(s.env, ref, child_source, target, opts)
        res = replace(res, check=checked.text)
        if not checked.ok:
            return replace(res, status="failed", next_step="the image breaks its contract; nothing was pushed")
        smoked = smoke(s.env, ref, child_source, child, target, opts, checked, res.strategy, up)
        res = replace(res, smoke=smoked.text, smoke_output=smoked.output)
        if smoked.next_step:
            return replace(res, status="failed", next_step=smoked.next_step)
        sink, name = tag.sink()
        try:
            if outcome.strategy == "present":
                r = transfer(up.source, sink, name=name, workers=opts.workers, reporter=s.reporter)
                res = replace(res, digest=r.digest, status="present")
            else:
                attached: list[str] = []

                def attach(edit) -> None:     # between the manifests and the tag
                    attached.append(attesting.attach(sink, edit.child.descriptor(), attesting.subject_name(tag),
                                                     attesting.record_for(up, outcome, target, res), s.signer)[1])
                edit = append_platform(sink, name, Sourced(base.top, base.source), Sourced(child, child_source),
                                       target, replace=opts.rebuild, workers=opts.workers, reporter=s.reporter,
                                       before_tag=attach if opts.attest else None)
                res = replace(res, digest=str(edit.index.digest), status="ported", notes=res.notes + tuple(
                    f"replaced upstream's {target} image {d.digest}" for d in edit.replaced) + tuple(attached))
            sink.commit()
        except BaseException:
            sink.abort()
            raise
        res = replace(res, platform_digest=str(child.digest))
        tag.remember(target, res.digest, res.platform_digest)
        _airgap(s, tag, target)
        return res
    except BadInput:
        raise
    except ArchportError as e:
        return _failed(s, res, _mirrored(s, ref, e))


def _open(s: Session, ref: Reference, component, target: Platform, from_release: bool) -> Upstream:
    try:
        return open_upstream(s, ref, component, target)
    except NotFound as e:
        if isinstance(m := _mirrored(s, ref, e), MirrorFailed):
            raise m from None           # a mirror lacks it: says nothing of upstream's versions
        if component is None:
            raise BadInput(f"unknown image {ref.familiar()}: not in the catalog, and upstream says {e}") from None
        if not from_release:
            raise BadInput(f"unknown version {ref.familiar()}: {e}") from None
        raise


def _explain(s: Session, tag: DestTag | None, ref: Reference, component, target: Platform, opts: Options,
             res: ImageResult, from_release: bool) -> ImageResult:
    """``--explain``: each strategy's decision, which one wins, and what would
    happen at the destination (or at each kind of destination without ``--to``)."""
    try:
        up = _open(s, ref, component, target, from_release)
    except TransportError as e:
        if component is None:
            raise
        res = _from_catalog(component, ref, target, opts, res)
        why = str(_mirrored(s, ref, e)).splitlines()[0]     # a mirror's words name no image: said once
        res = replace(res, notes=res.notes + (f"upstream unreachable ({why}): every fact above "
                                              "is the catalog's; nothing was read live",))
    else:
        res, _ = _choose(s, up, target, opts, res)
        if res.status == "failed" and res.reason:     # an error stopped the asking: nothing to explain
            return res
        res = replace(res, notes=res.notes + (f"read live from upstream: {ref.familiar()}'s platforms "
                                              f"({', '.join(str(p) for p in up.platforms)}) and config; the rest "
                                              "is the catalog's",))
    if res.status != "explained":
        return res
    reason, next_step, fetched = fetchable.blocked(s.env, component, ref.tag or "", res.strategy)
    res = replace(res, notes=res.notes + tuple(fetched))
    if reason:
        return replace(res, status="blocked", reason=reason, next_step=next_step)
    notes = []
    recipe = component.smoke_recipe(ref.tag or "") if component is not None and opts.smoke else None
    if recipe is not None and recipe.kernel is not None and opts.smoke_args is None:
        notes.append(f"smoke boots the target's own kernel (its recipe needs what qemu-user cannot translate: "
                     f"{recipe.kernel.describe() or 'kernel modules'}); it needs qemu-system and a Debian archive "
                     f"for the kernel")
    if tag is None:
        notes += [f"at a destination that already has {target}: done, nothing to do",
                  f"at any other destination: {res.strategy} would build and push {target}"]
    else:
        notes.append(f"{res.destination} has no {target}: {res.strategy} would build and push it")
    return replace(res, notes=res.notes + tuple(notes))


def _from_catalog(comp, ref: Reference, target: Platform, opts: Options, res: ImageResult) -> ImageResult:
    """Explain offline: what the catalog alone says each strategy would use.
    Nothing here was checked, so every reason says whose word it is."""
    tag, arch = ref.tag or "", target.architecture
    go, c, deb, distro = comp.go_build(tag), comp.c_build(tag), comp.deb_package(tag, arch), comp.distro_for(tag)
    asset = comp.release_asset(tag, arch) if target.os == "linux" else None
    facts = {
        # None: unknown, not "does not apply" (nothing was read live).
        "present": (None, "not checked: needs the upstream index"),
        "mirror": (None, "not checked: needs the upstream image's contract"),
        "go": (go is not None, f"the catalog names Go module {go.module}; not checked" if go is not None else
               f"the catalog names no Go build of {comp.name} {tag}"),
        "release": (asset is not None, f"the catalog names {asset.urls(tag, arch)[0]}; not checked"
                    if asset is not None else f"the catalog names no {arch} release asset of {comp.name} {tag}"),
        "c": (c is not None, f"the catalog names C source of {comp.name} {tag}; not checked" if c is not None
              else f"the catalog names no C build of {comp.name} {tag}"),
        "deb": (deb is not None, f"the catalog names a Debian package of {comp.name} for {arch}; not checked"
                if deb is not None else f"the catalog names no Debian package of {comp.name} for {arch}"),
        "transplant": (distro is not None, f"the catalog says {comp.name}'s userland is {distro.base}; not checked"
                       if distro is not None else f"the catalog builds {comp.name} as {comp.kind}, not from a "
                                                  "distribution"),
    }
    decisions = tuple((st.name, *facts.get(st.name, (None, "not checked")))
                      for st in load_strategies(opts.strategies, opts.rebuild))
    res = replace(res, decisions=res.decisions + decisions)
    applicable = [name for name, applies, _ in decisions if applies]
    if not applicable:
        return replace(res, status="unsupported",
                       reason=f"not supported yet: the catalog names no way to build {comp.name} {tag} for {target}")
    return replace(res, status="explained", strategy=applicable[0],
                   reason=next(r for n, a, r in res.decisions if a),
                   notes=res.notes + (f"{applicable[0]} would be tried first (auto's order)"
                                      + (f"; then {', '.join(applicable[1:])}" if len(applicable) > 1 else ""),))


def _already_rebuilt(tag: DestTag, up: Upstream, target: Platform, res: ImageResult) -> ImageResult | None:
    """``--rebuild`` is done once the destination's platform image is not the
    upstream's own: a rerun then changes nothing, like any other port."""
    done = tag.done(target)
    if done is None:
        return None
    if isinstance(up.top, Index):
        desc = up.top.find(target)
        theirs = str(desc.digest) if desc is not None else ""
    else:
        theirs = str(up.top.digest) if any(p.matches(target) for p in up.platforms) else ""
    if done[1] == theirs:
        return None
    return replace(res, status="done", digest=done[0], platform_digest=done[1],
                   reason=f"{res.destination} already has a rebuilt {target} (upstream's is {theirs or 'absent'})")


def _choose(s: Session, up: Upstream, target: Platform, opts: Options,
            res: ImageResult) -> tuple[ImageResult, Outcome | None]:
    """The strategies' decisions, and the outcome of the first applicable one
    that builds; without an outcome the result says why (explained,
    unsupported, or failed with every strategy's failure)."""
    decisions, applicable, error = _consider(s, up, target, opts)
    res = replace(res, decisions=res.decisions + decisions)
    if error is not None:
        return _failed(s, res, error), None
    if opts.explain and applicable:
        return _explained(res, applicable), None
    if not applicable:
        reason, next_step = _unsupported(up, target)
        named = [(n, why) for n, _a, why in res.decisions if opts.strategies and n in opts.strategies]
        if len(named) == 1:
            # --strategy NAME: why that one declines says more than the catalog's summary.
            reason = f"not supported yet: {named[0][0]}: {named[0][1]}"
        here = [why for _n, _a, why in res.decisions if why.startswith("not supported here: ")]
        if here:
            # The catalog names what blocks the build here: that, not a summary
            # (status "blocked", as --explain says of a module the proxy refuses).
            return replace(res, status="blocked", reason=here[0],
                           next_step="nothing was built; where what it names can be had, port with a --catalog "
                                     "file whose entry for the image has no [[blocked]] table"), None
        return replace(res, status="unsupported", reason=reason, next_step=next_step), None
    outcome, failed, error = _build(s, up, target, applicable)
    res = replace(res, decisions=res.decisions + failed)
    if error is not None:
        return _failed(s, res, error), None
    return res, outcome


def _consider(s: Session, up: Upstream, target: Platform, opts: Options) -> tuple[
        tuple[tuple[str, bool, str], ...], list[tuple[Strategy, Decision]], ArchportError | None]:
    """Each strategy's decision in order, the applicable ones, and the error
    that stopped the asking (the decisions before it are kept)."""
    decisions: list[tuple[str, bool, str]] = []
    applicable: list[tuple[Strategy, Decision]] = []
    for st in load_strategies(opts.strategies, opts.rebuild):
        try:
            d = st.consider(up, target, s.env)
        except BadInput:
            raise
        except ArchportError as e:
            return tuple(decisions), applicable, e
        decisions.append((st.name, d.applies, d.reason))
        if d.applies:
            applicable.append((st, d))
    return tuple(decisions), applicable, None


def _explained(res: ImageResult, applicable: list[tuple[Strategy, Decision]]) -> ImageResult:
    name, reason = applicable[0][0].name, applicable[0][1].reason
    if len(applicable) > 1:
        # auto tries them in ORDER and keeps the first that builds.
        others = ", ".join(st.name for st, _ in applicable[1:])
        note = f"{name} wins: first of the applicable strategies in auto's order; {others} would be tried only if it fails"
    else:
        note = f"{name} wins: the only strategy that applies"
    return replace(res, status="explained", strategy=name, reason=reason, notes=res.notes + (note,))


def _build(s: Session, up: Upstream, target: Platform, applicable: list[tuple[Strategy, Decision]]) -> tuple[
        Outcome | None, tuple[tuple[str, bool, str], ...], ArchportError | None]:
    """The first applicable strategy's outcome that builds; a decision for
    each that failed; and, when none built, the error to report."""
    failures: list[NotPortable] = []
    failed: list[tuple[str, bool, str]] = []
    for st, d in applicable:
        s.env.log(f"{up.ref.familiar()}: trying {st.name}")
        try:
            return st.build(up, target, s.env, d), tuple(failed), None
        except NotPortable as e:
            failures.append(e)
            failed.append((st.name, False, f"failed: {e.reason.splitlines()[0]}"))
        except BadInput:
            raise
        except ArchportError as e:
            return None, tuple(failed), e
    last = failures[-1]
    reason = last.reason if len(failures) == 1 else "\n".join(f"{st.name}: {f.reason}" for (st, _), f in
                                                               zip(applicable, failures))
    return None, tuple(failed), NotPortable(reason, last.next_step)


def _unsupported(up: Upstream, target: Platform) -> tuple[str, str]:
    comp, tag = up.component, up.ref.tag or ""
    distro = comp.distro_for(tag) if comp is not None else None
    if distro is not None:
        needs = "; ".join(distro.transplant_needs)
        return (f"not supported yet: {distro.reason}",
                "the transplant strategy ports distribution-based images (auto, or --strategy transplant); its "
                "decision says why it does not apply here" + (f"; it needs: {needs}" if needs else ""))
    if comp is None:
        return (f"not supported yet: no strategy applies to {up.ref.familiar()} and the catalog does not know it",
                "add the component to the catalog (--catalog EXTRA.toml)")
    return f"not supported yet: no strategy applies to {comp.name} for {target}", "extend the catalog entry"


def _materialize(s: Session, outcome: Outcome, ref: Reference) -> tuple[Source, Manifest]:
    """What check, smoke and the push read: the built image itself (no
    temporary layout), or the existing platform manifest a strategy chose."""
    if outcome.built is not None:
        return outcome.built.source(), outcome.built.manifest
    if outcome.manifest is None or outcome.source is None:
        raise ArchportError(f"strategy {outcome.strategy} produced nothing")
    return Pinned(outcome.source, outcome.manifest), outcome.manifest


def _airgap(s: Session, tag: DestTag, target: Platform) -> None:
    if s.airgap is not None:
        transfer(tag.source(), s.airgap, name=tag.ref.normalized(), platforms=[target], keep_index=True,
                 reporter=s.reporter)
        attesting.to_airgap(s.airgap, tag, target)


# -- many images ---------------------------------------------------------------

def port_all(s: Session, images: list[Reference], opts: Options, *, from_release: bool = False,
             on_result: Callable[[ImageResult], None] | None = None) -> list[ImageResult]:
    results = []
    for ref in images:
        r = port_image(s, ref, opts, from_release=from_release)
        results.append(r)
        if on_result is not None:
            on_result(r)
    return results
