"""transplant's Debian base: the upstream image's packages, by their Debian
names, from a Debian suite that has the target's architecture.

    upstream names (Alpine's mapped through catalog packages.toml) ──► wanted
    InRelease signature checked ──► Packages ──► dependency closure
    each .deb: its digest checked against the index ──► data unpacked
    base-files ──► the merged-/usr links (DEP 17)
    configure: update-alternatives for the iptables family, CA bundle,
               var/lib/dpkg/status and info/*.list for what was unpacked

The chain of trust and the formats are in :mod:`archport.fetch.debian`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ..attest.model import DistroPackage
from ..assemble.layer import FileSpec
from ..errors import ArchportError
from ..fetch.debian import DEB_ARCH, Archive, find_package, locate, parse_stanzas
from ..fetch.http import http_client
from ..platform import Platform
from ..transplant import configure, load_map
from ..transplant.compose import Userland, aliased, alias_links
from ..transplant.debs import dpkg_list, unpack
from ..transplant.pkgdb import PackageDB
from ..transplant.resolve import closure
from . import Decision, Env, NotPortable
from .transplant_base import Machine, Work

DEFAULT_SUITE = "trixie"           # the first Debian release with riscv64 in the main archive
BASE_PACKAGE = "base-files"        # ships the aliased /bin, /sbin, /lib links since trixie (DEP 17)


@dataclass(frozen=True, slots=True)
class DebianBase:
    kind: ClassVar[str] = "debian"
    may_not_answer: ClassVar[bool] = False
    url: str
    keyring: str
    suite: str
    darch: str                     # Debian's name for the target's architecture
    label: str
    chosen_by: str
    fallback: object = None        # a Base; Debian's is never used (see may_not_answer)

    @property
    def where(self) -> tuple:
        return self.url, self.keyring, self.suite

    def userland(self, work: Work, env: Env) -> Userland:
        wanted, wanted_notes = wanted_names(work.db)
        work.notes.extend(wanted_notes)
        stanzas, debs, aliases = self._fetch(wanted, env, work.notes)
        packages: list[tuple[str, tuple[FileSpec, ...]]] = []
        lists: list[FileSpec] = []
        for stanza, deb in zip(stanzas, debs):
            pkg = stanza["Package"]
            u = unpack(deb, work.dir / "debs" / pkg)
            if u.refused:
                work.notes.append(f"{pkg}: not unpacked: {'; '.join(u.refused[:5])}")
            packages.append((f"Debian {pkg}", u.files))
            lists.append(FileSpec(f"var/lib/dpkg/info/{pkg}.list", data=dpkg_list(u.files).encode()))
        present = {aliased(f.path, aliases) for _, files in packages for f in files}
        links, record = configure.alternatives(work.backend, present) if work.backend else ([], "")
        status = FileSpec("var/lib/dpkg/status", data=configure.dpkg_status(list(stanzas)))
        configured, records = configure.configured(packages, links, record, work.backend_why, [status, *lists],
                                                   f"dpkg database written for {len(stanzas)} packages")
        versions = ",".join(f"{s['Package']}={s.get('Version', '?')}" for s in stanzas)
        return Userland(label=f"Debian {self.suite} {self.darch}", source=f"{self.url} {self.suite}/{self.darch}",
                        packages=packages, aliases=aliases, alias_label=f"Debian {BASE_PACKAGE} (merged /usr)",
                        configured=configured, records=records, versions=versions, count=len(stanzas),
                        materials=tuple(DistroPackage("debian", s["Package"], s.get("Version", ""), self.darch,
                                                      f"sha256:{s.get('SHA256', '')}",
                                                      f"{self.url}/dists/{self.suite}/InRelease") for s in stanzas))

    def _fetch(self, wanted: list[str], env: Env,
               notes: list[str]) -> tuple[list[dict[str, str]], list[Path], dict[str, str]]:
        """The closure of ``wanted`` from the signed index, each package
        fetched and checked, and the merged-/usr links ``base-files`` ships."""
        suite, darch = self.suite, self.darch
        try:
            with http_client(env.http) as http:
                archive = Archive(self.url, Path(env.cache_dir), http, self.keyring)
                env.log(f"transplant: {self.url} {suite} {darch}: {', '.join(wanted)}")
                index = archive.packages(archive.release(suite), suite, darch)
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


def choose(suite: str, target: Platform, env: Env, what: str, by: str, machine: Machine) -> Decision:
    """The Debian base for ``suite`` (``--debian-suite`` wins), if the
    target has a Debian architecture and an archive is known."""
    if target.os != "linux" or target.architecture not in DEB_ARCH:
        return Decision(False, f"Debian has no architecture for {target}")
    url, keyring = locate(env.debian.archive, env.debian.keyring, machine.apt_sources)
    if not url:
        return Decision(False, "no Debian archive: the machine's apt sources name none; pass --debian-archive URL")
    suite = env.debian.suite or suite        # --debian-suite: the suite, whatever the base's default
    darch = DEB_ARCH[target.architecture]
    return Decision(True, f"rebuild {what} userland from Debian {suite} for {darch} ({by}), carrying the rest "
                          f"(its package database is read when it builds; not checked yet)",
                    plan=DebianBase(url, keyring, suite, darch, f"Debian {suite}", by))


def wanted_names(db: PackageDB) -> tuple[list[str], list[str]]:
    """The target's package names for the upstream database's, and notes."""
    names = list(db.names)
    if db.distro == "debian":
        return names, [f"{len(names)} Debian packages in the upstream image: the same names for the target"]
    wanted, unknown = load_map().debian_for(names)
    if unknown:
        raise NotPortable(f"no Debian package is known for the upstream image's Alpine packages: "
                          f"{', '.join(unknown)}", "add them to the catalog's packages.toml with a source")
    return list(wanted), [f"Alpine packages {', '.join(names)} -> Debian {', '.join(wanted)} "
                          f"(catalog packages.toml)"]


__all__ = ["BASE_PACKAGE", "DEFAULT_SUITE", "DebianBase", "choose", "wanted_names"]
