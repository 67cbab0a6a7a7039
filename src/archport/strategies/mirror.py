"""mirror: another publisher already has the platform; copy it as is.

An image that is itself a mirror of another (``mirrors`` in the catalog's
``[[image]]``: rancher/mirrored-library-busybox of library/busybox) is looked
for first in the image it mirrors, at the same tag: that image's child for the
target is appended unchanged, its digest the official one.  Then the catalog
names, per version range, other images of the same program whose
index carries more platforms (``[[alternative]]``: ``coredns/coredns`` has
riscv64 from 1.11.0).  The alternative is read through the same registry
client as everything else, so its mirrors and credentials apply.  It is
accepted only if the contract the pods rely on is the same: Entrypoint, Cmd,
User and WorkingDir compared with the upstream image's config (``consider``,
a manifest and a config read, handed to ``build`` in the decision's plan),
then — in ``build`` — the image's own layers
prove that what it execs, and the binary at the upstream path, resolve to an
executable for the target (:func:`archport.check.check_image`).  The result is
the alternative's platform manifest, copied digest-preserved by ``port``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..check import Contract as CheckContract, check_image, target_profile
from ..errors import ArchportError
from ..images import Pinned, open_source
from ..oci import Index, Manifest, read_config
from ..oci.config import ImageConfig
from ..platform import Platform, normalize
from ..reference import parse as parse_ref
from ..store import Source
from . import Decision, Env, NotPortable, Outcome, Upstream, recorded
from .contract import binary_path, differences, reference_config, tag_of


@dataclass(frozen=True, slots=True)
class _Found:
    ref: str
    source: Source
    manifest: Manifest
    config: ImageConfig
    note: str


class Mirror:
    name = "mirror"

    def consider(self, up: Upstream, target: Platform, env: Env) -> Decision:
        found, why = self._find(up, target, env)
        if found is None:
            return Decision(False, why)
        return Decision(True, f"{found.ref} publishes {normalize(target)} with the same contract ({why})",
                        plan=(found, why))

    def build(self, up: Upstream, target: Platform, env: Env, decision: Decision | None = None) -> Outcome:
        # The alternative consider found (its manifest and config read once).
        found, why = decision.plan if decision is not None and decision.plan else self._find(up, target, env)
        if found is None:
            raise NotPortable(why, "try --strategy go, release, c or deb")
        target = normalize(target)
        contracts = [CheckContract()]
        binary = binary_path(up)
        if binary:
            contracts.append(CheckContract(source=f"upstream binary path {binary}", command=(binary,)))
        env.log(f"mirror: checking {found.ref} ({target}) layer by layer")
        # A riscv64 source built for a higher profile than the port's dies
        # with SIGILL on the boards the port is for: refused like a broken contract.
        isa = target_profile(env.isa_profile) if target.architecture == "riscv64" else None
        try:
            report = check_image(Pinned(found.source, found.manifest), target, contracts, isa=isa)
        except ArchportError as e:
            raise NotPortable(f"{found.ref}: cannot check its {target} image: {e}") from None
        if not report.ok:
            first = next(f for f in report.all_findings() if f.is_error)
            if first.code == "isa-mismatch":
                raise NotPortable(f"{found.ref} ({target}) needs more than {isa.name}: {first.message}",
                                  "port --profile with the boards' profile if they have it, "
                                  "or try --strategy go, release, c or deb")
            raise NotPortable(f"{found.ref} ({target}) does not keep the contract: {first.message}",
                              "try --strategy go, release, c or deb")
        notes = (found.note,) if found.note else ()
        return Outcome("mirror", f"copied {target} from {found.ref} ({found.manifest.digest}); {why}",
                       source=found.source, manifest=found.manifest, notes=notes,
                       record=recorded.mirror_record(str(found.ref), str(found.manifest.digest)))

    # -- helpers ----------------------------------------------------------------
    def _find(self, up: Upstream, target: Platform, env: Env) -> tuple[_Found | None, str]:
        comp = up.component
        target = normalize(target)
        if comp is None:
            return None, "the catalog does not know this image, so it names no other publisher"
        # (reference, the contract note the result carries): the image this
        # one mirrors first, then the catalog's other publishers.
        candidates = [(alt.reference(tag_of(up)), alt.contract_note)
                      for alt in comp.alternatives_for(tag_of(up), str(target))]
        mirrored = comp.mirrored(up.ref) if tag_of(up) else ""
        if mirrored:
            candidates.insert(0, (f"{mirrored}:{tag_of(up)}",
                                  f"{up.ref.familiar()} is a mirror of {mirrored}:{tag_of(up)}: its {target} "
                                  f"child is appended unchanged, digest for digest"))
        if not candidates:
            return None, f"the catalog names no other publisher of {target} for {comp.name} {tag_of(up)}"
        if env.registry is None:
            return None, "no registry client to read the alternative with"
        want = reference_config(up)
        if want is None:
            return None, "neither the upstream config nor the catalog gives a contract to compare with"
        reasons = []
        for ref_text, contract_note in candidates:
            try:
                found = self._resolve(ref_text, target, env)
            except ArchportError as e:
                reasons.append(f"{ref_text}: {e}")
                continue
            if isinstance(found, str):
                reasons.append(f"{ref_text}: {found}")
                continue
            diff = differences(want, found.config)
            if diff:
                reasons.append(f"{ref_text} has {target} but its contract differs: {'; '.join(diff)}")
                continue
            return _Found(found.ref, found.source, found.manifest, found.config, contract_note), \
                "Entrypoint, Cmd, User, WorkingDir match"
        return None, "; ".join(reasons)

    def _resolve(self, ref_text: str, target: Platform, env: Env) -> _Found | str:
        ref = parse_ref(ref_text)
        src = open_source(ref, env.registry)
        top = src.resolve()
        if isinstance(top, Index):
            desc = top.find(target)
            if desc is None:
                offered = ", ".join(str(p) for p in top.platforms()) or "no platforms"
                return f"no {target} entry (it offers {offered})"
            m = src.manifest(desc)
            if not isinstance(m, Manifest):
                return f"the {target} entry is a nested index"
        else:
            m = top
        cfg = read_config(src, m)
        label = normalize(cfg.platform)
        if (label.os, label.architecture) != (target.os, target.architecture):
            return f"its config says {label}, not {target}"
        return _Found(str(ref), src, m, cfg, "")
