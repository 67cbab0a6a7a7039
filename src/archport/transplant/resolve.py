"""Which Debian packages to unpack: the dependency closure of the mapped names.

Read from one suite's ``Packages`` index for the target architecture, which
is self-consistent, so version constraints are not solved: a name resolves to
the one stanza the index has.  ``Pre-Depends`` and ``Depends`` are followed;
``Recommends`` and ``Suggests`` are not (``apt-get --no-install-recommends``).
An alternative ``a | b`` takes the first that the index has, a real package
before a virtual one; a virtual name (``Provides``) takes its first provider
in index order.  deb-control(5), "Package interrelationship fields".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True, slots=True)
class Resolution:
    packages: tuple[dict[str, str], ...]         # stanzas, dependencies before dependents
    missing: tuple[str, ...]                     # relations nothing in the index satisfies
    why: tuple[tuple[str, str], ...]             # (package, the package that pulled it in or "wanted")


def _relations(value: str) -> list[list[str]]:
    out = []
    for alt in value.split(","):
        names = [re.sub(r"\s*\(.*?\)|\s*\[.*?\]|\s*<.*?>|:\w+", "", x).strip() for x in alt.split("|")]
        names = [n for n in names if n]
        if names:
            out.append(names)
    return out


def closure(stanzas: Iterable[dict[str, str]], wanted: Iterable[str]) -> Resolution:
    real: dict[str, dict[str, str]] = {}
    providers: dict[str, list[str]] = {}
    for s in stanzas:
        name = s.get("Package", "")
        if not name or name in real:
            continue
        real[name] = s
        for group in _relations(s.get("Provides", "")):
            for virtual in group:
                providers.setdefault(virtual, []).append(name)

    def pick(alternatives: list[str]) -> str | None:
        for n in alternatives:
            if n in real:
                return n
        for n in alternatives:
            if providers.get(n):
                return providers[n][0]
        return None

    order: list[str] = []
    why: list[tuple[str, str]] = []
    missing: list[str] = []
    done: set[str] = set()
    # Iterative depth-first walk; a package is emitted after its dependencies.
    for top in wanted:
        first = pick([top])
        if first is None:
            missing.append(top)
            continue
        if first in done:
            continue
        stack: list[tuple[str, str, list[list[str]]]] = []
        done.add(first)
        s = real[first]
        stack.append((first, "wanted", _relations(s.get("Pre-Depends", "")) + _relations(s.get("Depends", ""))))
        while stack:
            name, parent, rels = stack[-1]
            if rels:
                alts = rels.pop(0)
                dep = pick(alts)
                if dep is None:
                    missing.append(" | ".join(alts) + f" (for {name})")
                elif dep not in done:
                    done.add(dep)
                    d = real[dep]
                    stack.append((dep, name, _relations(d.get("Pre-Depends", "")) + _relations(d.get("Depends", ""))))
                continue
            stack.pop()
            order.append(name)
            why.append((name, parent))
    return Resolution(tuple(real[n] for n in order), tuple(missing), tuple(why))
