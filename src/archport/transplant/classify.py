"""Every path of the upstream image, put in one of five bins.

* ``owned``    — installed by a package: the target distribution's build of
  that package supplies it;
* ``binaries`` — an ELF that no package owns (helm, tiller, traefik): rebuilt
  for the target from its Go build info, or taken from a release asset;
* ``carried``  — everything else (scripts, configs, data, symlinks such as
  busybox's applet links, directories with their modes and owners): copied
  byte-identical;
* ``accounts`` — the user and group files: owned by a base package, but the
  image's own users (``klipper-helm``, uid 1000) live there, so upstream's
  copy is carried;
* ``database`` — the package database itself, which described the upstream
  platform's packages and is rewritten for the target's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from .pkgdb import APK_DB, DPKG_INFO, DPKG_STATUS, PackageDB

ACCOUNTS = ("etc/passwd", "etc/group", "etc/shadow", "etc/gshadow")
DATABASE_PREFIXES = ("lib/apk/db/", "var/lib/dpkg/", "var/cache/apk/", "var/cache/apt/", "var/lib/apt/lists/")


@dataclass(frozen=True, slots=True)
class Entry:
    """What classification needs to know about one path of the merged tree."""

    path: str                  # no leading slash
    kind: str                  # "dir" | "file" | "symlink" | …
    elf: bool = False


@dataclass
class Classified:
    owned: dict[str, list[str]] = field(default_factory=dict)     # package → its paths present in the image
    binaries: list[str] = field(default_factory=list)
    carried: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    database: list[str] = field(default_factory=list)

    @property
    def packages(self) -> tuple[str, ...]:
        return tuple(sorted(self.owned))

    def to_dict(self) -> dict:
        return {"packages": {k: len(v) for k, v in sorted(self.owned.items())}, "binaries": self.binaries,
                "carried": len(self.carried), "accounts": self.accounts, "database": len(self.database)}


def classify(entries: Iterable[Entry], db: PackageDB) -> Classified:
    out = Classified()
    for e in entries:
        path = e.path.strip("/")
        if not path:
            continue
        if path in ACCOUNTS:
            out.accounts.append(path)
        elif path.startswith(DATABASE_PREFIXES) or path in (APK_DB, DPKG_STATUS) or path.startswith(DPKG_INFO):
            out.database.append(path)
        elif e.kind != "dir" and db.owner(path):
            out.owned.setdefault(db.owner(path), []).append(path)
        elif e.kind == "file" and e.elf:
            out.binaries.append(path)
        else:
            out.carried.append(path)
    return out
