"""transplant: a distro-based image's userland, rebuilt from the target's packages.

    upstream platform image ──extract (bounded)──► package database, paths, iptables backend
        classify: owned │ unowned ELF │ carried │ accounts │ database
    owned     → the same packages from a base that has the target: the catalog's bases in
                order (Alpine by the same names when a mirror is configured and answers,
                :mod:`.transplant_alpine`; else Debian, Alpine names mapped), or the one
                --transplant-onto names; dependencies resolved from the signed index,
                packages unpacked
    ELF       → rebuilt from their Go build info (the go strategy's build), else refused by name
    carried   → byte-identical, same modes, owners and links
    configure → alternatives links (the upstream image's iptables backend), CA bundle,
                the package database; all recorded
    assemble  → one layer on scratch, the upstream config with the platform changed

Nothing of the target architecture runs at build time.  The pure steps
live in :mod:`archport.transplant`; this module does the I/O around them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..build.assemble import assemble, provenance
from ..build.layer import FileSpec
from ..errors import ArchportError
from ..fetch.debian import DEB_ARCH, Archive, find_package, locate, parse_stanzas
from ..fetch.http import http_client
from ..imagefs import extract, remove_tree
from ..platform import Platform, normalize
from ..transplant import classify, load_map, substitute
from ..transplant import configure, upstream as upstream_fs
from ..fetch.alpine import KEYS_DIR as APK_KEYS, REPOSITORIES as APK_REPOSITORIES, locate as alpine_locate
from ..transplant.compose import Userland, alias_links, compose, moved_by_target
from ..transplant.debs import dpkg_list, unpack
from ..transplant.resolve import closure
from . import Decision, Env, NotPortable, Outcome, Upstream, require
from . import transplant_alpine
from .carry import carry
from .transplant_go import rebuild_binaries
from .contract import tag_of

DEFAULT_SUITE = "trixie"           # the first Debian release with riscv64 in the main archive
MAX_UPSTREAM = 4 << 30             # what the upstream image may expand to on disk
BASE_PACKAGE = "base-files"        # ships the aliased /bin, /sbin, /lib links since trixie (DEP 17)
BACKENDS = ("legacy", "nft")

ANN_PACKAGES = "io.archport.transplant.packages"
ANN_IPTABLES = "io.archport.transplant.iptables"
ANN_BASE = "io.archport.transplant.base"
ANN_CONFIGURE = "io.archport.transplant.configure"
ANN_SUBSTITUTED = substitute.ANNOTATION
ANN_REBUILT = "io.archport.transplant.rebuilt"


@dataclass(frozen=True, slots=True)
class Base:
    """Where consider found the packages can come from."""

    kind: str                  # "debian" | "alpine"
    where: tuple               # debian: (archive URL, keyring, suite); alpine: (mirror, keys dir, version, arch)
    label: str                 # "Debian trixie", "Alpine 3.22"
    chosen_by: str             # "--transplant-onto", "the catalog", "the default"
    fallback: "Base | None" = None     # the next usable base, when an Alpine mirror does not answer


class Transplant:
    name = "transplant"

    def __init__(self, sources_list: str = "/etc/apt/sources.list",
                 sources_dir: str = "/etc/apt/sources.list.d", apk_repositories: str = APK_REPOSITORIES,
                 apk_keys: str = APK_KEYS) -> None:
        self.sources = (sources_list, sources_dir)
        self.apk_repositories, self.apk_keys = apk_repositories, apk_keys

    def consider(self, up: Upstream, target: Platform, env: Env) -> Decision:
        target = normalize(target)
        comp = up.component
        if comp is not None and comp.kind != "distro":
            return Decision(False, f"the catalog builds {comp.name} as {comp.kind}, not from a distribution")
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
            d = self._consider_alpine(release, target, env, what, by) if kind == "alpine" else \
                self._consider_debian(release, target, env, what, by)
            if d.applies:
                found.append(d)
            elif by == "--transplant-onto":
                return d
            else:
                passed.append(f"not {onto} ({by}): {d.reason}")
        if not found:
            return Decision(False, "; ".join(passed) or "no base distribution to transplant onto")
        first = found[0]
        fallback = found[1].plan if len(found) > 1 and first.plan.kind == "alpine" else None
        reason = "; ".join([first.reason, *passed] + ([f"{found[1].plan.label} if it does not answer"]
                                                     if fallback else []))
        return Decision(True, reason, plan=dataclasses.replace(first.plan, fallback=fallback))

    def _consider_debian(self, suite: str, target: Platform, env: Env, what: str, by: str) -> Decision:
        if target.os != "linux" or target.architecture not in DEB_ARCH:
            return Decision(False, f"Debian has no architecture for {target}")
        url, keyring = self._archive(env)
        if not url:
            return Decision(False, "no Debian archive: the machine's apt sources name none; pass --debian-archive URL")
        suite = env.debian_suite or suite        # --debian-suite: the suite, whatever the base's default
        darch = DEB_ARCH[target.architecture]
        return Decision(True, f"rebuild {what} userland from Debian {suite} for {darch} ({by}), carrying the rest "
                              f"(its package database is read when it builds; not checked yet)",
                        plan=Base("debian", (url, keyring, suite), f"Debian {suite}", by))

    def _consider_alpine(self, version: str, target: Platform, env: Env, what: str, by: str) -> Decision:
        arch = load_map().alpine_arch(target.architecture, target.variant)
        if target.os != "linux" or arch is None:
            return Decision(False, f"Alpine has no architecture for {target}")
        if not arch.has(version):
            return Decision(False, f"Alpine {version} has no {arch.alpine}: it has it from {arch.since} "
                                   f"({arch.source.url}); use --transplant-onto alpine:{arch.since} or later")
        mirror, keys = alpine_locate(env.alpine_mirror, env.alpine_keys, self.apk_repositories, self.apk_keys)
        if not mirror:
            return Decision(False, "no Alpine mirror: this machine's /etc/apk/repositories names none; pass "
                                   "--alpine-mirror URL")
        if not keys:
            return Decision(False, "no Alpine signing keys to check its indexes with: pass --alpine-keys DIR "
                                   "(the alpine-keys package's /etc/apk/keys)")
        return Decision(True, f"rebuild {what} userland from Alpine {version} for {arch.alpine} ({by}; the same "
                              f"package names), carrying the rest (its package database is read when it builds; "
                              f"not checked yet)",
                        plan=Base("alpine", (mirror, keys, version, arch.alpine), f"Alpine {version}", by))

    def build(self, up: Upstream, target: Platform, env: Env, decision: Decision | None = None) -> Outcome:
        target, decision = require(self, up, target, env, decision)
        name = up.component.name if up.component is not None else up.ref.path.rsplit("/", 1)[-1]
        work = Path(env.workdir) / "transplant" / name / (tag_of(up) or "latest") / target.architecture
        work.mkdir(parents=True, exist_ok=True)
        if env.iptables_backend and env.iptables_backend not in BACKENDS:
            raise NotPortable(f"iptables backend {env.iptables_backend!r}: expected legacy or nft")

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
        land = self._userland(decision.plan, db, root, env, target, work, backend, backend_why, notes)

        carried_paths = set(cls.carried) | set(cls.accounts)
        kept, _elf = carry(up.source, up.manifest, work, skip="")
        carried = [f for f in kept if f.path.lstrip("/") in carried_paths]
        alias_specs = [FileSpec(p, kind="symlink", target=t, mode=0o777) for p, t in sorted(land.aliases.items())]
        composed = compose([("upstream", carried), *land.packages, (land.alias_label, alias_specs),
                            ("rebuilt", rebuilt), ("configure", land.configured)],
                           land.aliases)
        remove_tree(root)
        records = [*land.records, "users and groups: the upstream image's /etc/passwd and /etc/group, carried"]
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
                         annotations=ann, created=env.source_date_epoch, workdir=str(work),
                         history_comment=f"archport transplant: {land.label}, {land.count} packages")
        notes += records + substituted
        notes.append(f"packages from {land.label} ({land.source.split(' ')[0]}): {land.versions}")
        return Outcome("transplant", f"userland from {land.label} ({land.count} packages), "
                       f"{len(carried)} upstream entries carried" + (f", iptables {backend}" if backend else ""),
                       built=built, fixups=tuple(fixups), notes=tuple(notes))

    def _userland(self, base: Base, db, root: Path, env: Env, target: Platform, work: Path, backend: str,
                  backend_why: str, notes: list[str]) -> Userland:
        if base.kind == "debian":
            return self._debian(db, env, base.where, target, work, backend, backend_why, notes)
        try:
            return transplant_alpine.userland(db, root, env, base.where, work, backend, backend_why, notes)
        except transplant_alpine.MirrorUnreachable as e:
            if base.fallback is None:
                raise
            notes.append(f"{base.label} ({base.chosen_by}) did not answer: {e.reason}; {base.fallback.label} "
                         f"({base.fallback.chosen_by}) instead")
            return self._userland(base.fallback, db, root, env, target, work, backend, backend_why, notes)

    def _debian(self, db, env: Env, where: tuple, target: Platform, work: Path, backend: str, backend_why: str,
                notes: list[str]) -> Userland:
        url, keyring, suite = where
        darch = DEB_ARCH[target.architecture]
        wanted, wanted_notes = self._wanted(db)
        notes += wanted_notes
        stanzas, debs, aliases = self._fetch(url, keyring, suite, darch, wanted, env, notes)
        spool = work / "debs"
        packages: list[tuple[str, tuple[FileSpec, ...]]] = []
        lists: list[FileSpec] = []
        for stanza, deb in zip(stanzas, debs):
            pkg = stanza["Package"]
            u = unpack(deb, spool / pkg)
            if u.refused:
                notes.append(f"{pkg}: not unpacked: {'; '.join(u.refused[:5])}")
            packages.append((f"Debian {pkg}", u.files))
            lists.append(FileSpec(f"var/lib/dpkg/info/{pkg}.list", data=dpkg_list(u.files).encode()))
        configured, records = self._configure(packages, aliases, backend, stanzas, lists, backend_why)
        versions = ",".join(f"{s['Package']}={s.get('Version', '?')}" for s in stanzas)
        return Userland(label=f"Debian {suite} {darch}", source=f"{url} {suite}/{darch}", packages=packages,
                        aliases=aliases, alias_label=f"Debian {BASE_PACKAGE} (merged /usr)", configured=configured,
                        records=records, versions=versions, count=len(stanzas))

    # -- steps ------------------------------------------------------------------
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

    def _wanted(self, db) -> tuple[list[str], list[str]]:
        """The target's package names for the upstream database's, and notes."""
        names = list(db.names)
        if db.distro == "debian":
            return names, [f"{len(names)} Debian packages in the upstream image: the same names for the target"]
        pm = load_map()
        wanted, unknown = pm.debian_for(names)
        if unknown:
            raise NotPortable(f"no Debian package is known for the upstream image's Alpine packages: "
                              f"{', '.join(unknown)}", "add them to the catalog's packages.toml with a source")
        return list(wanted), [f"Alpine packages {', '.join(names)} -> Debian {', '.join(wanted)} "
                              f"(catalog packages.toml)"]

    def _backend(self, env: Env, root: Path) -> tuple[str, str]:
        theirs = upstream_fs.iptables_backend(root)
        if env.iptables_backend:
            why = "--iptables-backend" + (f"; the upstream image runs {theirs}" if theirs else "")
            return env.iptables_backend, why
        if theirs:
            return theirs, "the upstream image's"
        return "", ""

    def _fetch(self, url: str, keyring: str, suite: str, darch: str, wanted: list[str], env: Env,
               notes: list[str]) -> tuple[list[dict[str, str]], list[Path], dict[str, str]]:
        try:
            with http_client(env.http) as http:
                archive = Archive(url, Path(env.cache_dir), http, keyring)
                env.log(f"transplant: {url} {suite} {darch}: {', '.join(wanted)}")
                rel = archive.release(suite)
                index = archive.packages(rel, suite, darch)
                stanzas = list(parse_stanzas(index.decode("utf-8", "replace")))
                have = {s.get("Package") for s in stanzas}
                absent = [w for w in wanted if w not in have]
                if absent:
                    notes.append(f"not in Debian {suite}/{darch}, left to the others' dependencies: "
                                 f"{', '.join(absent)}")
                res = closure(stanzas, [w for w in wanted if w in have])
                if res.missing:
                    raise NotPortable(f"Debian {suite}/{darch} cannot satisfy: {'; '.join(res.missing)}")
                chosen = list(res.packages)
                debs = []
                for s in chosen:
                    env.log(f"transplant: {s['Package']} {s.get('Version', '')}")
                    debs.append(archive.deb(s))
                aliases: dict[str, str] = {}
                base = find_package(index, BASE_PACKAGE)
                if base is not None:
                    aliases = alias_links(unpack(archive.deb(base), Path(env.workdir) / "transplant" / "base").files)
        except NotPortable:
            raise
        except ArchportError as e:
            raise NotPortable(f"Debian {suite}/{darch}: {e}",
                              "nothing was built; if the archive is mid-sync, retry later or name another suite "
                              "with --debian-suite (e.g. forky)") from None
        return chosen, debs, aliases

    def _configure(self, packages, aliases: dict[str, str], backend: str, stanzas, lists: list[FileSpec],
                   backend_why: str) -> tuple[list[FileSpec], list[str]]:
        from ..transplant.compose import aliased
        present = {aliased(f.path, aliases) for _, files in packages for f in files}
        out: list[FileSpec] = []
        records: list[str] = []
        if backend:
            links, record = configure.alternatives(backend, present)
            out += [FileSpec(p, kind="symlink", target=t, mode=0o777) for p, t in links]
            if record:
                records.append(f"{record}, {backend_why}")
        bundle, record = configure.ca_bundle_for(packages)
        if bundle is not None:
            out.append(bundle)
            records.append(record)
        out.append(FileSpec("var/lib/dpkg/status", data=configure.dpkg_status(list(stanzas))))
        out += lists
        records.append(f"dpkg database written for {len(stanzas)} packages")
        return out, records

    def _bases(self, up: Upstream, env: Env) -> list[tuple[str, str]]:
        """The bases the packages may come from, preferred first, with who
        chose each: --transplant-onto, else the catalog's ``onto`` for the
        tag, else Debian's default suite."""
        if env.transplant_onto:
            return [(env.transplant_onto, "--transplant-onto")]
        comp = up.component
        distro = comp.distro_for(tag_of(up)) if comp is not None else None
        if distro is not None and distro.onto:
            return [(onto, "the catalog") for onto in distro.onto]
        return [(f"debian:{DEFAULT_SUITE}", "the default")]

    def _archive(self, env: Env) -> tuple[str, str]:
        return locate(env.debian_archive, env.debian_keyring, self.sources)


__all__ = ["Transplant"]
