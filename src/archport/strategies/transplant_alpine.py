"""transplant's Alpine base: the upstream image's Alpine packages, the same
names, from an Alpine release that has the target's architecture.

    etc/apk/world (else every installed name) ──► wanted
    main + community APKINDEX, signature checked ──► dependency closure
    each .apk: C: and datahash checked ──► data member unpacked, file SHA-1s checked
    configure: iptables family → the upstream image's backend, CA bundle,
               lib/apk/db/installed for what was unpacked

The chain of trust and the formats are in :mod:`archport.fetch.alpine` and
:mod:`archport.fetch.apkformat`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ..attest.model import DistroPackage
from ..assemble.layer import FileSpec
from ..errors import ArchportError, TransportError
from ..fetch.alpine import Repository, branch_of, locate
from ..fetch.apkformat import Entry
from ..fetch.http import http_client
from ..platform import Platform
from ..transplant import apkfiles, configure, load_map
from ..transplant.apk import closure, dep_name, installed_db
from ..transplant.compose import Userland, alias_links
from ..transplant.pkgdb import APK_DB, PackageDB
from . import Decision, Env, NotPortable
from .transplant_base import Machine, MirrorUnreachable, Work

REPOS = ("main", "community")      # the stable branches' repositories, in apk's default order
WORLD = "etc/apk/world"


def wanted_names(db: PackageDB, root: Path) -> tuple[list[str], str]:
    """The names apk was asked for (``etc/apk/world``), else every installed
    package's; and where they came from."""
    world = root / WORLD
    if world.is_file() and not world.is_symlink():
        names = [dep_name(w.split("@", 1)[0]) for w in world.read_text("utf-8", "replace").split()]
        names = [n for n in names if n and not n.startswith("!")]
        if names:
            return names, f"/{WORLD}"
    return list(db.names), f"/{APK_DB}"


@dataclass(frozen=True, slots=True)
class AlpineBase:
    kind: ClassVar[str] = "alpine"
    may_not_answer: ClassVar[bool] = True
    mirror: str
    keys: str
    version: str                   # "3.22", "edge"
    arch: str                      # Alpine's name for the target's architecture
    label: str
    chosen_by: str
    fallback: object = None        # the next usable Base, tried when this mirror does not answer

    @property
    def where(self) -> tuple:
        return self.mirror, self.keys, self.version, self.arch

    def userland(self, work: Work, env: Env) -> Userland:
        if work.db.distro != "alpine":
            raise NotPortable(f"the upstream image's packages are {work.db.distro}'s: onto Alpine needs their "
                              "Alpine names, which the catalog does not map", "use --transplant-onto debian:SUITE")
        branch, arch = branch_of(self.version), self.arch
        wanted, whence = wanted_names(work.db, work.root)
        try:
            with http_client(env.http) as http:
                repo = Repository(self.mirror, self.keys, Path(env.cache_dir), http)
                entries, signed_by = self._indexes(repo, branch)
                env.log(f"transplant: Alpine {branch} {arch}: {', '.join(wanted)}")
                chosen = _resolve(entries, wanted, whence, work, branch, arch)
                packages, listed = self._unpack(repo, branch, chosen, work, env)
        except NotPortable:
            raise
        except TransportError as e:
            raise MirrorUnreachable(f"Alpine {branch}/{arch}: {e}", "nothing was built; check --alpine-mirror, or "
                                    "name another base with --transplant-onto") from None
        except ArchportError as e:
            raise NotPortable(f"Alpine {branch}/{arch}: {e}", "nothing was built; the mirror's files do not match "
                              "what its signed index pins, or it could not give them: retry, or name another "
                              "--alpine-mirror") from None
        work.notes.append(f"Alpine packages wanted ({whence}): {', '.join(wanted)}; "
                          f"indexes signed: {'; '.join(signed_by)}")
        present = {f.path for _, files in packages for f in files}
        links, record = _iptables(work.backend, present) if work.backend else ([], "")
        configured, records = configure.configured(
            packages, links, record, work.backend_why,
            [FileSpec(APK_DB, data=installed_db(listed))], f"apk database written for {len(listed)} packages")
        return Userland(label=f"Alpine {branch} {arch}", source=f"{self.mirror} {branch}/{arch}",
                        packages=packages, aliases=alias_links([f for _, files in packages for f in files]),
                        alias_label="Alpine (merged /usr)", configured=configured, records=records,
                        versions=",".join(f"{e.name}={e.version}" for e in chosen), count=len(chosen),
                        materials=tuple(DistroPackage("alpine", e.name, e.version, e.arch or arch, e.checksum,
                                                      repo.url(branch, e.repo or "main", arch, "APKINDEX.tar.gz"))
                                        for e in chosen))

    def _indexes(self, repo: Repository, branch: str) -> tuple[list[Entry], list[str]]:
        """Every package of the branch's repositories, each index's signature
        checked; and who signed them."""
        entries: list[Entry] = []
        signed_by = []
        for name in REPOS:
            got = repo.index(branch, name, self.arch)
            if got is None:
                if name == "main":
                    raise MirrorUnreachable(f"Alpine {branch}/main/{self.arch}: the mirror {self.mirror} has no "
                                            "such repository",
                                            f"check --alpine-mirror and that Alpine {self.version} has {self.arch}")
                continue
            entries += got[0]
            signed_by.append(f"{name} by {got[1]}")
        return entries, signed_by

    def _unpack(self, repo: Repository, branch: str, chosen: list[Entry], work: Work, env: Env):
        """Each chosen package fetched (its C: and datahash checked) and its
        data unpacked (file SHA-1s checked); with what apk's database lists."""
        apks = []
        for e in chosen:
            env.log(f"transplant: {e.name} {e.version}")
            apks.append(repo.package(branch, self.arch, e))
        packages: list[tuple[str, tuple[FileSpec, ...]]] = []
        listed = []
        for e, (path, data) in zip(chosen, apks):
            u = apkfiles.unpack(path, data, work.dir / "apks" / e.name)
            if u.refused:
                work.notes.append(f"{e.name}: not unpacked: {'; '.join(u.refused[:5])}")
            packages.append((f"Alpine {e.name}", u.files))
            sums = dict(u.sha1)
            listed.append((e, [(f.path, f.kind, sums.get(f.path, "")) for f in u.files]))
        return packages, listed


def _resolve(entries: list[Entry], wanted: list[str], whence: str, work: Work, branch: str, arch: str) -> list[Entry]:
    """The dependency closure of ``wanted`` (plus the backend's own iptables
    package where Alpine splits it out)."""
    backend = work.backend
    if backend and {"iptables", "ip6tables"} & set(wanted) and any(e.name == f"iptables-{backend}" for e in entries):
        wanted.append(f"iptables-{backend}")
        work.notes.append(f"iptables-{backend} added: Alpine {branch} packages the {backend} backend apart")
    res = closure(entries, wanted)
    absent = [m for m in res.missing if m in wanted]      # closure names a wanted name bare
    if absent:
        raise NotPortable(f"Alpine {branch}/{arch} has no {', '.join(absent)} (named in the upstream "
                          f"image's {whence})", "choose another --transplant-onto alpine:VERSION")
    if res.missing:
        raise NotPortable(f"Alpine {branch}/{arch} cannot satisfy: {'; '.join(res.missing)}")
    return list(res.packages)


def _iptables(backend: str, present: set[str]) -> tuple[list[tuple[str, str]], str]:
    links, record = configure.apk_iptables(backend, present)
    if not links and any(re.search(r"(^|/)ip6?tables$", p) for p in present):
        raise NotPortable(f"the target's iptables packages have no {backend} backend (no xtables-{backend}-multi)",
                          "choose the other with --iptables-backend")
    return links, record


def choose(version: str, target: Platform, env: Env, what: str, by: str, machine: Machine) -> Decision:
    """The Alpine base for ``version``, if it has the target's architecture
    and a mirror and its keys are known (nothing is asked of the mirror)."""
    arch = load_map().alpine_arch(target.architecture, target.variant)
    if target.os != "linux" or arch is None:
        return Decision(False, f"Alpine has no architecture for {target}")
    if not arch.has(version):
        return Decision(False, f"Alpine {version} has no {arch.alpine}: it has it from {arch.since} "
                               f"({arch.source.url}); use --transplant-onto alpine:{arch.since} or later")
    mirror, keys = locate(env.alpine.mirror, env.alpine.keys, machine.apk_repositories, machine.apk_keys)
    if not mirror:
        return Decision(False, "no Alpine mirror: this machine's /etc/apk/repositories names none; pass "
                               "--alpine-mirror URL")
    if not keys:
        return Decision(False, "no Alpine signing keys to check its indexes with: pass --alpine-keys DIR "
                               "(the alpine-keys package's /etc/apk/keys)")
    return Decision(True, f"rebuild {what} userland from Alpine {version} for {arch.alpine} ({by}; the same "
                          f"package names), carrying the rest (its package database is read when it builds; "
                          f"not checked yet)",
                    plan=AlpineBase(mirror, keys, version, arch.alpine, f"Alpine {version}", by))


__all__ = ["AlpineBase", "choose", "wanted_names"]
