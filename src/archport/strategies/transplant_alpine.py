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
from pathlib import Path

from ..build.layer import FileSpec
from ..errors import ArchportError, TransportError
from ..fetch.alpine import Repository, branch_of
from ..fetch.http import http_client
from ..transplant import apkfiles, configure
from ..fetch.apkformat import Entry
from ..transplant.apk import closure, dep_name, installed_db
from ..transplant.compose import Userland, alias_links
from ..transplant.pkgdb import APK_DB, PackageDB
from . import Env, NotPortable

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


class MirrorUnreachable(NotPortable):
    """The mirror did not answer, or has no such release: another base may be tried."""


def userland(db: PackageDB, root: Path, env: Env, where: tuple, work: Path, backend: str, backend_why: str,
             notes: list[str]) -> Userland:
    mirror, keys, version, arch = where
    if db.distro != "alpine":
        raise NotPortable(f"the upstream image's packages are {db.distro}'s: onto Alpine needs their Alpine names, "
                          "which the catalog does not map", "use --transplant-onto debian:SUITE")
    branch = branch_of(version)
    wanted, whence = wanted_names(db, root)
    try:
        with http_client(env.http) as http:
            repo = Repository(mirror, keys, Path(env.cache_dir), http)
            entries: list[Entry] = []
            signed_by = []
            for name in REPOS:
                got = repo.index(branch, name, arch)
                if got is None:
                    if name == "main":
                        raise MirrorUnreachable(f"Alpine {branch}/main/{arch}: the mirror {mirror} has no such repository",
                                          f"check --alpine-mirror and that Alpine {version} has {arch}")
                    continue
                entries += got[0]
                signed_by.append(f"{name} by {got[1]}")
            env.log(f"transplant: Alpine {branch} {arch}: {', '.join(wanted)}")
            if backend and {"iptables", "ip6tables"} & set(wanted) \
                    and any(e.name == f"iptables-{backend}" for e in entries):
                wanted.append(f"iptables-{backend}")
                notes.append(f"iptables-{backend} added: Alpine {branch} packages the {backend} backend apart")
            res = closure(entries, wanted)
            absent = [m for m in res.missing if m in wanted]      # closure names a wanted name bare
            if absent:
                raise NotPortable(f"Alpine {branch}/{arch} has no {', '.join(absent)} (named in the upstream "
                                  f"image's {whence})", "choose another --transplant-onto alpine:VERSION")
            if res.missing:
                raise NotPortable(f"Alpine {branch}/{arch} cannot satisfy: {'; '.join(res.missing)}")
            apks = []
            for e in res.packages:
                env.log(f"transplant: {e.name} {e.version}")
                apks.append(repo.package(branch, arch, e))
            packages: list[tuple[str, tuple[FileSpec, ...]]] = []
            listed = []
            for e, (path, data) in zip(res.packages, apks):
                u = apkfiles.unpack(path, data, work / "apks" / e.name)
                if u.refused:
                    notes.append(f"{e.name}: not unpacked: {'; '.join(u.refused[:5])}")
                packages.append((f"Alpine {e.name}", u.files))
                sums = dict(u.sha1)
                listed.append((e, [(f.path, f.kind, sums.get(f.path, "")) for f in u.files]))
    except NotPortable:
        raise
    except TransportError as e:
        raise MirrorUnreachable(f"Alpine {branch}/{arch}: {e}", "nothing was built; check --alpine-mirror, or name "
                          "another base with --transplant-onto") from None
    except ArchportError as e:
        raise NotPortable(f"Alpine {branch}/{arch}: {e}", "nothing was built; the mirror's files do not match "
                          "what its signed index pins, or it could not give them: retry, or name another "
                          "--alpine-mirror") from None
    notes.append(f"Alpine packages wanted ({whence}): {', '.join(wanted)}; indexes signed: {'; '.join(signed_by)}")
    configured, records = _configure(packages, listed, backend, backend_why)
    every = [f for _, files in packages for f in files]
    versions = ",".join(f"{e.name}={e.version}" for e in res.packages)
    return Userland(label=f"Alpine {branch} {arch}", source=f"{mirror} {branch}/{arch}", packages=packages,
                    aliases=alias_links(every), alias_label="Alpine (merged /usr)", configured=configured,
                    records=records, versions=versions, count=len(res.packages))


def _configure(packages, listed, backend: str, backend_why: str) -> tuple[list[FileSpec], list[str]]:
    present = {f.path for _, files in packages for f in files}
    out: list[FileSpec] = []
    records: list[str] = []
    if backend:
        links, record = configure.apk_iptables(backend, present)
        if not links and any(re.search(r"(^|/)ip6?tables$", p) for p in present):
            raise NotPortable(f"the target's iptables packages have no {backend} backend (no xtables-{backend}-multi)",
                              "choose the other with --iptables-backend")
        out += [FileSpec(p, kind="symlink", target=t, mode=0o777) for p, t in links]
        if record:
            records.append(f"{record}, {backend_why}")
    bundle, record = configure.ca_bundle_for(packages)
    if bundle is not None:
        out.append(bundle)
        records.append(record)
    out.append(FileSpec(APK_DB, data=installed_db(listed)))
    records.append(f"apk database written for {len(listed)} packages")
    return out, records
