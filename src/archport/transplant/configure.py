"""The configure steps that matter, done natively and recorded.

Packages are unpacked, never configured (no maintainer script runs: nothing
of the target architecture executes at build time).  What their scripts or
triggers would have produced and the image relies on is made here:

* ``update-alternatives`` links — Debian's iptables registers
  ``iptables`` and ``ip6tables`` as alternatives with ``-legacy`` and
  ``-nft`` choices, ``-restore`` and ``-save`` as their slaves
  (iptables.postinst): ``/usr/sbin/iptables → /etc/alternatives/iptables →
  /usr/sbin/iptables-legacy`` and ``/usr/sbin/iptables-restore →
  /etc/alternatives/iptables-restore → /usr/sbin/iptables-legacy-restore``;
* on Alpine, ``iptables`` and its family are links to one multi-call
  binary the package chooses (``xtables-nft-multi`` since iptables
  1.8.9-r4, ``xtables-legacy-multi`` before, the legacy one in the
  ``iptables-legacy`` package where it is split out): they are pointed at
  the upstream image's backend;
* the CA bundle ``/etc/ssl/certs/ca-certificates.crt`` that
  ``update-ca-certificates`` concatenates from the certificates under
  ``/usr/share/ca-certificates`` (ca-certificates' trigger);
* users and groups: the upstream image's ``/etc/passwd`` and ``/etc/group``
  are carried as they are (:mod:`.classify`), so nothing is generated;
* the package database for what was unpacked (``var/lib/dpkg/status`` and
  ``info/<package>.list``), so the image still says which packages it holds
  and a later transplant of it reads them.  The packages are recorded as
  installed: the configure steps an image relies on were done here.

Each function returns what to add as ``(path, link target)``, ``(path,
bytes)`` or an entry, plus a line for the record; :func:`ca_bundle_for`
reads the certificates the packages' unpacking spooled, and
:func:`configured` puts one base's steps together in the order both bases
share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..assemble.layer import FileSpec

IPTABLES_ALTERNATIVES = ("iptables", "iptables-restore", "iptables-save",
                         "ip6tables", "ip6tables-restore", "ip6tables-save")


def alternatives(backend: str, present: set[str]) -> tuple[list[tuple[str, str]], str]:
    """The iptables alternative links for ``backend`` ("legacy" | "nft"), for
    the commands whose ``-legacy``/``-nft`` binaries ``present`` (paths
    without leading slash) holds."""
    if backend not in ("legacy", "nft"):
        raise ValueError(f"iptables backend {backend!r}: expected legacy or nft")
    links: list[tuple[str, str]] = []
    for cmd in IPTABLES_ALTERNATIVES:
        base, _, slave = cmd.partition("-")                 # "iptables-restore" -> iptables-legacy-restore
        choice = f"usr/sbin/{base}-{backend}" + (f"-{slave}" if slave else "")
        if choice not in present:
            continue
        links.append((f"etc/alternatives/{cmd}", f"/{choice}"))
        links.append((f"usr/sbin/{cmd}", f"/etc/alternatives/{cmd}"))
    record = f"update-alternatives: iptables family → {backend} ({len(links) // 2} commands)" if links else ""
    return links, record


def apk_iptables(backend: str, present: set[str]) -> tuple[list[tuple[str, str]], str]:
    """Alpine's iptables family as links to ``xtables-<backend>-multi``, in
    the directory that binary is in; ([], "") when no package has it."""
    if backend not in ("legacy", "nft"):
        raise ValueError(f"iptables backend {backend!r}: expected legacy or nft")
    multi = next((p for p in sorted(present) if p.rsplit("/", 1)[-1] == f"xtables-{backend}-multi"), "")
    if not multi:
        return [], ""
    where = multi.rsplit("/", 1)[0]
    links = [(f"{where}/{cmd}", f"xtables-{backend}-multi") for cmd in IPTABLES_ALTERNATIVES]
    return links, f"iptables family → /{multi} ({len(links)} commands)"


BUNDLE = "etc/ssl/certs/ca-certificates.crt"


def ca_bundle_for(packages: Iterable[tuple[str, Iterable[FileSpec]]]) -> tuple[FileSpec | None, str]:
    """The bundle for unpacked ``packages`` ((label, entries), regular files
    spooled), from their certificates under ``usr/share/ca-certificates``,
    unless a package ships it already (Alpine's ca-certificates-bundle);
    (None, "") when there is nothing to make."""
    entries = [f for _, files in packages for f in files]
    if any(f.path == BUNDLE for f in entries):
        return None, ""
    certs = [(f.path, Path(f.source).read_bytes()) for f in entries
             if f.kind == "file" and f.source and f.path.startswith("usr/share/ca-certificates/")
             and f.path.endswith(".crt")]
    if not certs:
        return None, ""
    body, record = ca_bundle(certs)
    return FileSpec(BUNDLE, data=body), record


def configured(packages: list[tuple[str, tuple[FileSpec, ...]]], links: list[tuple[str, str]], links_record: str,
               backend_why: str, database: list[FileSpec], database_record: str) -> tuple[list[FileSpec], list[str]]:
    """What every base adds after unpacking, in this order, with a record
    line for each: the iptables family's ``links`` (each base makes its own:
    :func:`alternatives`, :func:`apk_iptables`), the CA bundle, then the
    base's package ``database``."""
    out = [FileSpec(p, kind="symlink", target=t, mode=0o777) for p, t in links]
    records = [f"{links_record}, {backend_why}"] if links_record else []
    bundle, record = ca_bundle_for(packages)
    if bundle is not None:
        out.append(bundle)
        records.append(record)
    return out + database, records + [database_record]


def ca_bundle(certificates: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """``/etc/ssl/certs/ca-certificates.crt`` from ``(path, PEM bytes)`` of the
    certificates under ``usr/share/ca-certificates`` (sorted by path, each
    ending in a newline, as update-ca-certificates appends them)."""
    body = b""
    for _path, pem in sorted(certificates):
        body += pem if pem.endswith(b"\n") else pem + b"\n"
    return body, f"update-ca-certificates: {len(certificates)} certificates into the bundle"


#: Fields of a Packages stanza that dpkg keeps in its status file (dpkg's
#: ``lib/dpkg/parse.c`` field table, the ones a Packages index carries).
STATUS_FIELDS = ("Package", "Essential", "Priority", "Section", "Installed-Size", "Maintainer", "Architecture",
                 "Multi-Arch", "Source", "Version", "Replaces", "Provides", "Pre-Depends", "Depends",
                 "Recommends", "Suggests", "Breaks", "Conflicts", "Description", "Homepage")


def dpkg_status(stanzas: list[dict[str, str]]) -> bytes:
    """``var/lib/dpkg/status`` for the unpacked packages, in the given order."""
    out = []
    for s in stanzas:
        lines = []
        for key in STATUS_FIELDS:
            if key not in s:
                continue
            value = s[key].replace("\n", "\n ").replace("\n \n", "\n .\n")
            lines.append(f"{key}: {value}")
            if key == "Package":
                lines.append("Status: install ok installed")
        out.append("\n".join(lines) + "\n")
    return "\n".join(out).encode()
