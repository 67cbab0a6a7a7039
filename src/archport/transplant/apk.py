"""Which Alpine packages to unpack, and the database that records them.

Resolution follows ``D:`` dependencies (``name``, ``name=ver``, ``so:lib``,
``cmd:prog``, ``/bin/sh``; ``!name`` conflicts are not followed) over index
entries (:mod:`archport.fetch.apkformat`).  An index is self-consistent, so
version constraints are not solved: a name is the package of that name, else
the provider with the highest ``k:`` (provider_priority), first in index
order on a tie.  ``install_if`` is not followed (apk adds such packages, docs
or openrc files, only when its condition is already installed).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Iterable

from ..fetch.apkformat import Entry

# -- resolution -------------------------------------------------------------------

def dep_name(dep: str) -> str:
    """``so:libc.musl-x86_64.so.1=1`` → ``so:libc.musl-x86_64.so.1``; ``a>=1.2`` → ``a``."""
    return re.split(r"[<>=~]", dep, maxsplit=1)[0]


@dataclass(frozen=True, slots=True)
class Resolution:
    packages: tuple[Entry, ...]              # dependencies before dependents
    missing: tuple[str, ...]                 # relations nothing in the index satisfies
    why: tuple[tuple[str, str], ...]         # (package, what pulled it in or "wanted")


def closure(entries: Iterable[Entry], wanted: Iterable[str]) -> Resolution:
    real: dict[str, Entry] = {}
    providers: dict[str, list[Entry]] = {}
    for e in entries:
        if e.name in real:
            continue                         # repositories in order: the first wins a name
        real[e.name] = e
        for p in e.provides:
            providers.setdefault(dep_name(p), []).append(e)

    def pick(name: str) -> Entry | None:
        if name in real:
            return real[name]
        cands = providers.get(name, [])
        return max(cands, key=lambda c: c.priority) if cands else None   # max keeps the first on a tie

    order: list[Entry] = []
    why: list[tuple[str, str]] = []
    missing: list[str] = []
    done: set[str] = set()
    for top in wanted:
        first = pick(dep_name(top))
        if first is None:
            missing.append(top)
            continue
        if first.name in done:
            continue
        done.add(first.name)
        stack: list[tuple[Entry, str, list[str]]] = [(first, "wanted", _deps(first))]
        while stack:
            entry, parent, deps = stack[-1]
            if deps:
                dep = deps.pop(0)
                got = pick(dep_name(dep))
                if got is None:
                    missing.append(f"{dep} (for {entry.name})")
                elif got.name not in done:
                    done.add(got.name)
                    stack.append((got, entry.name, _deps(got)))
                continue
            stack.pop()
            order.append(entry)
            why.append((entry.name, parent))
    return Resolution(tuple(order), tuple(missing), tuple(why))


def _deps(e: Entry) -> list[str]:
    return [d for d in e.depends if not d.startswith("!")]


# -- the installed database ----------------------------------------------------------

#: The index lines apk copies into ``lib/apk/db/installed`` before the file
#: lists (apk-tools ``src/database.c``, the installed-db writer).
INSTALLED_KEYS = "CPVASITULomtcDpik"


def installed_db(packages: Iterable[tuple[Entry, Iterable[tuple[str, str, str]]]]) -> bytes:
    """``lib/apk/db/installed`` for unpacked packages: each package's index
    lines, then ``F:`` per directory and ``R:``/``Z:`` per file in it.
    ``files`` are (path, kind, sha1 hex) with kind "dir", "file" or "symlink"."""
    blocks = []
    for entry, files in packages:
        lines = [f"{k}:{v}" for k, v in (("C", entry.checksum), ("P", entry.name), ("V", entry.version),
                                           ("A", entry.arch)) if v]
        lines += [f"{k}:{v}" for k, v in entry.fields if k in INSTALLED_KEYS and k not in "CPVA"]
        current = None
        for path, kind, sha1 in files:
            if kind == "dir":
                lines.append(f"F:{path}")
                current = path
                continue
            parent, _, base = path.rpartition("/")
            if parent != current:
                lines.append(f"F:{parent}")
                current = parent
            lines.append(f"R:{base}")
            if sha1:
                lines.append("Z:Q1" + base64.b64encode(bytes.fromhex(sha1)).decode())
        blocks.append("\n".join(lines) + "\n")
    return ("\n".join(blocks) + "\n").encode() if blocks else b""
