"""deb: take the program from a Debian package built for the target.

Debian builds most of its archive for riscv64 since trixie.  The catalog's
``[[deb]]`` names the package, the suite and the file (busybox-static:
``/usr/bin/busybox``); :mod:`archport.fetch.debian` fetches it with apt's chain of
trust (signed InRelease → Packages.xz → .deb, all SHA-256 checked) from the
archive of the machine's apt sources, or the one the caller gives.

A multi-call binary gets its links (busybox's applets: ``/bin/sh`` is what
local-path-provisioner's helper pod runs).  The list comes from the program
itself, run under qemu-user (``busybox --list-full``, the arguments are
catalog data), or else from the catalog's minimal list; the result says which.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
from pathlib import Path

from ..assemble.image import History, assemble, provenance
from ..binaries.elf import read_elf
from ..assemble.layer import FileSpec, normalize_path
from ..fetch.debian import DEB_ARCH, KEYRING, Archive, apt_sources, extract_file, find_package
from ..emulation import qemu_binary
from ..errors import ArchportError
from ..platform import Platform, normalize
from . import Decision, Env, NotPortable, Outcome, Upstream, recorded, require
from .contract import binary_path, reference_config, tag_of
from ..fetch.http import http_client

LIST_TIMEOUT = 60


class Deb:
    name = "deb"

    def __init__(self, archive_url: str | None = None, keyring: str | None = None,
                 sources_list: str = "/etc/apt/sources.list", sources_dir: str = "/etc/apt/sources.list.d") -> None:
        self.archive_url = archive_url
        self.keyring = keyring
        self.sources = (sources_list, sources_dir)

    def consider(self, up: Upstream, target: Platform, env: Env) -> Decision:
        target = normalize(target)
        comp = up.component
        if comp is None:
            return Decision(False, "the catalog does not know this image, so it names no Debian package")
        pkg = comp.deb_package(tag_of(up), target.architecture)
        if pkg is None:
            return Decision(False, f"the catalog names no Debian package of {comp.name} for {target.architecture}")
        if target.os != "linux" or target.architecture not in DEB_ARCH:
            return Decision(False, f"Debian has no architecture for {target}")
        if binary_path(up) is None:
            return Decision(False, "neither the catalog nor the upstream config says where the binary lives")
        url, keyring = self._archive(env)
        if not url:
            return Decision(False, "no Debian archive: the machine's apt sources name none; pass --debian-archive URL")
        return Decision(True, f"Debian {env.debian.suite or pkg.suite} builds {pkg.package} for "
                              f"{DEB_ARCH[target.architecture]}", plan=(url, keyring))

    def build(self, up: Upstream, target: Platform, env: Env, decision: Decision | None = None) -> Outcome:
        target, decision = require(self, up, target, env, decision)
        comp, tag, arch = up.component, tag_of(up), target.architecture
        pkg = comp.deb_package(tag, arch)
        suite = env.debian.suite or pkg.suite
        darch = DEB_ARCH[arch]
        url, keyring = decision.plan or self._archive(env)      # the archive consider chose
        work = Path(env.workdir) / "deb" / comp.name / tag / arch
        root = work / "rootfs"
        path = binary_path(up)
        local = root / normalize_path(path)
        local.parent.mkdir(parents=True, exist_ok=True)
        try:
            with http_client(env.http) as http:
                archive = Archive(url, Path(env.cache_dir), http, keyring)
                env.log(f"deb: {url} {suite} {darch}: {pkg.package}")
                rel = archive.release(suite)
                stanza = find_package(archive.packages(rel, suite, darch), pkg.package)
                if stanza is None:
                    raise NotPortable(f"Debian {suite}/{darch} has no package {pkg.package}")
                deb = archive.deb(stanza)
                inside = extract_file(deb, pkg.binary, local)
        except NotPortable:
            raise
        except ArchportError as e:
            raise NotPortable(f"Debian package {pkg.package} ({suite}/{darch}): {e}",
                              "nothing was built; if the archive is mid-sync, retry later or name another suite "
                              "that builds the package with --debian-suite") from None
        os.chmod(local, 0o755)
        with open(local, "rb") as fh:
            info = read_elf(fh)
        if info is None or info.goarch != arch:
            raise NotPortable(f"{pkg.package}:{inside} is not a {arch} program")
        notes = [f"{pkg.package} {stanza.get('Version', '?')} from Debian {suite} "
                 f"(sha256:{stanza['SHA256']}), not the upstream build of {tag}", f"fetched from {url}"]
        if not info.static:
            notes.append(f"{inside} is dynamically linked: its libraries are not in the image")
        links, how = self._links(pkg, local, path, target)
        notes.append(how)
        files = [FileSpec(path, source=str(local), mode=0o755)]
        # Relative targets resolve the same inside the container and in an
        # unpacked rootfs on the host (qemu-user -L ROOT ROOT/bin/sh).
        files += [FileSpec(link, kind="symlink", target=posixpath.relpath(path, posixpath.dirname(link)))
                  for link in links]
        built = assemble(None, files, platform=target, family=up.family, reference_config=reference_config(up),
                         # The package, named by its pool path and digest: which mirror served it
                         # is this run's business (the notes), not the image's.
                         annotations=provenance(version=stanza.get("Version", ""), strategy="deb", changes=[
                             f"{pkg.package}:{inside} -> {path}",
                             f"{stanza['Filename']} (sha256:{stanza['SHA256']}) of Debian {suite}/{darch}"]),
                         workdir=str(work),
                         history=History(env.source_date_epoch,
                                         f"archport deb: {pkg.package} {stanza.get('Version', '')}"))
        return Outcome("deb", f"{path} from Debian's {pkg.package} {stanza.get('Version', '')} for {darch}"
                       f" with {len(links)} links", built=built, notes=tuple(notes),
                       record=recorded.deb_record(pkg.package, stanza, darch, f"{url}/dists/{suite}/InRelease"))

    # -- helpers ----------------------------------------------------------------
    def _archive(self, env: Env) -> tuple[str, str]:
        keyring = self.keyring or env.debian.keyring
        if self.archive_url or env.debian.archive:
            return (self.archive_url or env.debian.archive).rstrip("/"), keyring or KEYRING
        srcs = apt_sources(*self.sources)
        if not srcs:
            return "", ""
        return srcs[0].uri, keyring or srcs[0].signed_by or KEYRING

    def _links(self, pkg, local: Path, path: str, target: Platform) -> tuple[list[str], str]:
        """(link paths, how they were found)."""
        args = tuple(getattr(pkg, "list_links", ()) or ())
        minimal = [_abs(x) for x in (getattr(pkg, "links", ()) or ())]
        qemu = qemu_binary(target)
        if args and qemu:
            try:
                r = subprocess.run([qemu, str(local), *args], capture_output=True, text=True, timeout=LIST_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired) as e:
                problem = f"{' '.join(args)} under {os.path.basename(qemu)} failed: {e}"
            else:
                found = sorted({_abs(ln.strip()) for ln in r.stdout.splitlines() if "/" in ln.strip()})
                found = [f for f in found if f != path and _plausible(f)]
                if r.returncode == 0 and found:
                    return found, (f"{len(found)} links listed by {posixpath.basename(path)} {' '.join(args)} "
                                   f"run under {os.path.basename(qemu)}")
                problem = f"{' '.join(args)} under {os.path.basename(qemu)} exited {r.returncode} listing {len(found)}"
        elif args:
            problem = "qemu-user for the target is not installed (apt-get install qemu-user-static)"
        else:
            problem = "the catalog gives no way to list the links"
        return minimal, f"links from the catalog's minimal list ({', '.join(minimal) or 'none'}): {problem}"


def _abs(p: str) -> str:
    return "/" + p.strip().lstrip("/")


def _plausible(p: str) -> bool:
    try:
        normalize_path(p)
    except ArchportError:
        return False
    return " " not in p
