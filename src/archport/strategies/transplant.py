"""transplant: a distro-based image's userland, rebuilt from the target's packages.

    upstream platform image ──extract (bounded)──► package database, paths, iptables backend
        classify: owned │ unowned ELF │ carried │ accounts │ database
    owned     → the same packages from a base that has the target: the catalog's bases in
                order (Alpine by the same names when a mirror is configured and answers,
                :mod:`.transplant_alpine`; else Debian, Alpine names mapped,
                :mod:`.transplant_debian`), or the one --transplant-onto names;
                dependencies resolved from the signed index, packages unpacked
    ELF       → rebuilt from their Go build info (the go strategy's build), else refused by name
    carried   → byte-identical, same modes, owners and links
    configure → alternatives links (the upstream image's iptables backend), CA bundle,
                the package database; all recorded
    assemble  → one layer on scratch, the upstream config with the platform changed

Nothing of the target architecture runs at build time.  The pure steps
live in :mod:`archport.transplant`; this module does the I/O around them.
Every base is a :class:`.transplant_base.Base`: this module takes them in
order without knowing which kinds there are (:data:`BASES`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..assemble.image import History, assemble, provenance
from ..assemble.layer import FileSpec
from ..fetch.alpine import KEYS_DIR as APK_KEYS, REPOSITORIES as APK_REPOSITORIES
from ..imagefs import extract, remove_tree
from ..platform import Platform, normalize
from ..toolchain import substitute
from ..transplant import classify
from ..transplant import entry, upstream as upstream_fs
from ..transplant.compose import Userland, compose, moved_by_target
from .transplant_isa import refuse_above
from . import Decision, Env, NotPortable, Outcome, Upstream, recorded, require
from . import transplant_alpine, transplant_debian
from .carry import carry
from .contract import blocked, tag_of
from .transplant_base import Base, Choose, Machine, MirrorUnreachable, Work
from .transplant_debian import DEFAULT_SUITE
from .transplant_go import rebuild_binaries

MAX_UPSTREAM = 4 << 30             # what the upstream image may expand to on disk
BACKENDS = ("legacy", "nft")
# Each base kind, as --transplant-onto and the catalog's ``onto`` spell it.
BASES: dict[str, Choose] = {"debian": transplant_debian.choose, "alpine": transplant_alpine.choose}

ANN_PACKAGES = "io.archport.transplant.packages"
ANN_IPTABLES = "io.archport.transplant.iptables"
ANN_BASE = "io.archport.transplant.base"
ANN_CONFIGURE = "io.archport.transplant.configure"
ANN_SUBSTITUTED = substitute.ANNOTATION
ANN_REBUILT = "io.archport.transplant.rebuilt"


class Transplant:
    name = "transplant"

    def __init__(self, sources_list: str = "/etc/apt/sources.list",
                 sources_dir: str = "/etc/apt/sources.list.d", apk_repositories: str = APK_REPOSITORIES,
                 apk_keys: str = APK_KEYS) -> None:
        self.machine = Machine((sources_list, sources_dir), apk_repositories, apk_keys)

    def consider(self, up: Upstream, target: Platform, env: Env) -> Decision:
        target = normalize(target)
        comp = up.component
        if comp is not None and comp.kind != "distro":
            return Decision(False, f"the catalog builds {comp.name} as {comp.kind}, not from a distribution")
        if comp is not None and (why := blocked(up)):
            return Decision(False, why)
        if up.manifest is None:
            return Decision(False, "no upstream platform image to read a package database from")
        what = f"{comp.name}'s" if comp is not None else "the upstream image's"
        # consider stays cheap: no layer is read and no mirror asked; the
        # bases are taken in order, the first that can be used wins, and an
        # Alpine base unreachable at build time falls back to the next.
        found: list[Decision] = []
        passed: list[str] = []
        for onto, by in self._bases(up, env):
            kind, _, release = onto.partition(":")
            d = BASES[kind](release, target, env, what, by, self.machine)
            if d.applies:
                found.append(d)
            elif by == "--transplant-onto":
                return d
            else:
                passed.append(f"not {onto} ({by}): {d.reason}")
        if not found:
            return Decision(False, "; ".join(passed) or "no base distribution to transplant onto")
        first = found[0]
        fallback = found[1].plan if len(found) > 1 and first.plan.may_not_answer else None
        reason = "; ".join([first.reason, *passed] + ([f"{found[1].plan.label} if it does not answer"]
                                                     if fallback else []))
        return Decision(True, reason, plan=dataclasses.replace(first.plan, fallback=fallback))

    def build(self, up: Upstream, target: Platform, env: Env, decision: Decision | None = None) -> Outcome:
        target, decision = require(self, up, target, env, decision)
        name = up.component.name if up.component is not None else up.ref.path.rsplit("/", 1)[-1]
        work = Path(env.workdir) / "transplant" / name / (tag_of(up) or "latest") / target.architecture
        work.mkdir(parents=True, exist_ok=True)
        if env.transplant.iptables_backend and env.transplant.iptables_backend not in BACKENDS:
            raise NotPortable(f"iptables backend {env.transplant.iptables_backend!r}: expected legacy or nft")

        root = self._extract(up, work)
        db = upstream_fs.database(root)
        if db is None:
            distro = up.component.distro_for(tag_of(up)) if up.component is not None else None
            raise NotPortable("the upstream image has no package database (lib/apk/db/installed or "
                              "var/lib/dpkg/status): there is no userland to transplant",
                              f"the catalog expects {distro.base}: {distro.reason}" if distro else
                              "port it with a strategy that builds its program (go, release, c, deb)")
        cls = classify(upstream_fs.entries(root), db)
        notes: list[str] = []
        rebuilt, fixups, substituted, rebuilt_lines = rebuild_binaries(up, cls.binaries, root, target, env, notes)
        backend, backend_why = self._backend(env, root)
        land = self._userland(decision.plan, Work(db, root, work, backend, backend_why, notes), env)
        refuse_above(land, target, env.isa_profile)

        carried_paths = set(cls.carried) | set(cls.accounts)
        origins: dict[str, str] = {}
        kept, _elf = carry(up.source, up.manifest, work, skip="", origins=origins)
        carried = [f for f in kept if f.path.lstrip("/") in carried_paths]
        alias_specs = [FileSpec(p, kind="symlink", target=t, mode=0o777) for p, t in sorted(land.aliases.items())]
        composed = compose([("upstream", carried), *land.packages, (land.alias_label, alias_specs),
                            ("rebuilt", rebuilt), ("configure", land.configured)],
                           land.aliases)
        remove_tree(root)
        records = [*land.records, "users and groups: the upstream image's /etc/passwd and /etc/group, carried"]
        records += self._entry(up, composed, land.aliases)
        compat = moved_by_target((p for paths in cls.owned.values() for p in paths), composed)
        if compat:
            records.append(f"the target's packages moved {len(compat)} upstream paths; linked: "
                           f"{', '.join(compat[:10])}{' …' if len(compat) > 10 else ''}")
        if composed.moved:
            records.append(f"merged /usr: {len(composed.moved)} upstream paths written through "
                           f"{', '.join(f'/{a} -> {t}' for a, t in sorted(land.aliases.items()))}")
        ann = provenance(source=land.source, version=tag_of(up), strategy="transplant",
                         changes=[f"carried {len(carried)} upstream entries",
                                  f"{land.count} packages from {land.label}", *records,
                                  *(f"replaced {r}" for r in composed.replaced[:20])])
        ann[ANN_PACKAGES] = land.versions
        ann[ANN_BASE] = land.label
        ann[ANN_IPTABLES] = f"{backend} ({backend_why})" if backend else ""
        ann[ANN_CONFIGURE] = "; ".join(records)
        if substituted:
            ann[ANN_SUBSTITUTED] = "; ".join(substituted)
        if rebuilt_lines:
            ann[ANN_REBUILT] = "; ".join(rebuilt_lines)
        built = assemble(None, composed.specs(), platform=target, family=up.family, reference_config=up.config,
                         annotations=ann, workdir=str(work),
                         history=History(env.source_date_epoch,
                                         f"archport transplant: {land.label}, {land.count} packages"))
        notes += records + substituted
        notes.append(f"packages from {land.label} ({land.source.split(' ')[0]}): {land.versions}")
        return Outcome("transplant", f"userland from {land.label} ({land.count} packages), "
                       f"{len(carried)} upstream entries carried" + (f", iptables {backend}" if backend else ""),
                       built=built, fixups=tuple(fixups), notes=tuple(notes),
                       record=recorded.transplant_record(land.materials, carried, origins))

    def _userland(self, base: Base, work: Work, env: Env) -> Userland:
        """``base``'s userland; when its mirror does not answer, its fallback's."""
        try:
            return base.userland(work, env)
        except MirrorUnreachable as e:
            if base.fallback is None:
                raise
            work.notes.append(f"{base.label} ({base.chosen_by}) did not answer: {e.reason}; "
                              f"{base.fallback.label} ({base.fallback.chosen_by}) instead")
            return self._userland(base.fallback, work, env)

    # -- steps ------------------------------------------------------------------
    def _entry(self, up: Upstream, composed, aliases) -> list[str]:
        """What the catalog says the entry script runs, found in the new
        userland (else refused, naming it); the records saying so."""
        comp = up.component
        distro = comp.distro_for(tag_of(up)) if comp is not None else None
        if distro is None or not (distro.entry_commands or distro.iptables == "entry"):
            return []
        missing = entry.lacking((s.path for s in composed.specs()), aliases, distro.entry_commands,
                                backends=distro.iptables == "entry")
        if missing:
            raise NotPortable(f"the transplanted userland lacks what {comp.name} {tag_of(up)}'s entry script "
                              f"needs: {'; '.join(missing)}", "choose a base whose packages provide them "
                              "(--transplant-onto)")
        out = [f"entry script's commands present: {', '.join(distro.entry_commands)}"] if distro.entry_commands \
            else []
        if distro.iptables == "entry":
            out.append("iptables backend: chosen by the entry script at each start (nft when nf_tables is "
                       "loaded, else legacy); both xtables-legacy-multi and xtables-nft-multi are in the image")
        return out

    def _extract(self, up: Upstream, work: Path) -> Path:
        """The upstream platform image's merged root, extracted with the
        hostile-name and size rules of :func:`archport.imagefs.extract`."""
        blobs = work / "layers"
        blobs.mkdir(exist_ok=True)
        paths = []
        for i, desc in enumerate(up.manifest.layers):
            p = blobs / f"{i}"
            with up.source.open_blob(desc) as chunks, open(p, "wb") as out:
                for c in chunks:
                    out.write(c)
            paths.append(p)
        root = work / "upstream"
        try:
            extract(paths, root, max_size=MAX_UPSTREAM)
        finally:
            for p in paths:
                p.unlink(missing_ok=True)
        return root

    def _backend(self, env: Env, root: Path) -> tuple[str, str]:
        theirs = upstream_fs.iptables_backend(root)
        if env.transplant.iptables_backend:
            why = "--iptables-backend" + (f"; the upstream image runs {theirs}" if theirs else "")
            return env.transplant.iptables_backend, why
        if theirs:
            return theirs, "the upstream image's"
        return "", ""

    def _bases(self, up: Upstream, env: Env) -> list[tuple[str, str]]:
        """The bases the packages may come from, preferred first, with who
        chose each: --transplant-onto, else the catalog's ``onto`` for the
        tag, else Debian's default suite."""
        if env.transplant.onto:
            return [(env.transplant.onto, "--transplant-onto")]
        comp = up.component
        distro = comp.distro_for(tag_of(up)) if comp is not None else None
        if distro is not None and distro.onto:
            return [(onto, "the catalog") for onto in distro.onto]
        return [(f"debian:{DEFAULT_SUITE}", "the default")]


__all__ = ["Transplant"]
