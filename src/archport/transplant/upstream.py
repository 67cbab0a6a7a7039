"""What the upstream image's extracted root says about itself.

Read from a directory that :func:`archport.imagefs.extract` filled (whiteouts
applied, hostile names refused): its package database, its paths with their
kinds, and the facts a transplant must keep, such as which iptables backend
``iptables`` runs.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..binaries.elf import is_elf
from .classify import Entry
from .pkgdb import APK_DB, DPKG_INFO, DPKG_STATUS, PackageDB, parse_apk, parse_dpkg


def database(root: Path) -> PackageDB | None:
    """The image's package database, or None when it has none (scratch, distroless)."""
    apk = root / APK_DB
    if apk.is_file() and not apk.is_symlink():
        return parse_apk(apk.read_text("utf-8", "replace"))
    status = root / DPKG_STATUS
    if status.is_file() and not status.is_symlink():
        info = root / DPKG_INFO
        lists = {p.name: p.read_text("utf-8", "replace") for p in info.glob("*.list")
                 if p.is_file() and not p.is_symlink()} if info.is_dir() else {}
        return parse_dpkg(status.read_text("utf-8", "replace"), lists)
    return None


def entries(root: Path) -> list[Entry]:
    """Every path under ``root`` (not following links), sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            st = os.lstat(full)
            if stat.S_ISDIR(st.st_mode):
                out.append(Entry(rel, "dir"))
            elif stat.S_ISLNK(st.st_mode):
                out.append(Entry(rel, "symlink"))
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    out.append(Entry(rel, "file", elf=is_elf(f.read(4))))
            else:
                out.append(Entry(rel, "special"))
    return out


def iptables_backend(root: Path) -> str:
    """"legacy" or "nft": which multi-call binary the image's ``iptables``
    runs (iptables ≥ 1.8 ships both, ``xtables-legacy-multi`` and
    ``xtables-nft-multi``; distributions point ``iptables`` at one of them —
    Alpine switched to nft in 1.8.9-r4, Debian through update-alternatives).
    "" when the image has no iptables."""
    for cand in ("sbin/iptables", "usr/sbin/iptables", "bin/iptables", "usr/bin/iptables"):
        p = root / cand
        seen = 0
        while p.is_symlink() and seen < 10:
            target = os.readlink(p)
            if "xtables-legacy-multi" in target or target.endswith("-legacy"):
                return "legacy"
            if "xtables-nft-multi" in target or target.endswith("-nft"):
                return "nft"
            p = (root / target.lstrip("/")) if target.startswith("/") else p.parent / target
            seen += 1
        if p.is_file():
            name = p.name
            if "legacy" in name:
                return "legacy"
            if "nft" in name:
                return "nft"
            return "legacy"     # an iptables binary that is not a multi-call one predates nft (< 1.8)
    return ""
