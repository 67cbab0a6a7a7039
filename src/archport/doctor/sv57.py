"""Sv57 kernels and the Go inside the node's images.

Go's riscv64 runtime before 1.20 packs heap pointers assuming at most 48-bit
virtual addresses.  On a kernel that uses Sv57 paging, such a binary dies at
its first garbage collection with ``fatal error: lfstack.push``
(golang/go#54104, fixed in Go 1.20).  k3s's own Go is read from
``k3s --version`` (:mod:`.node`); the images the pods run are checked here,
from their build info: every ELF of the image for the node's platform is read
from the registry, through the same mirror and credential settings as the
cross-check, one image per query, in parallel.

:func:`apply` is pure over probe results; :func:`registry_probe` is the I/O.
"""

from __future__ import annotations

import re
from typing import Callable

from .. import platform as plat
from ..check.listing import list_binaries
from ..oci import Index, Manifest
from . import fixes
from ..node.facts import Facts
from .report import Group, Report

#: image -> [(path, Go version)] of the Go binaries in its node-platform image.
Probe = Callable[[str], "list[tuple[str, str]]"]


def go_before_120(version: str) -> bool:
    m = re.match(r"go1\.(\d+)(?:\D|$)", version)
    return bool(m) and int(m.group(1)) <= 19


def applies(facts: Facts, platform: plat.Platform) -> bool:
    return platform.architecture == "riscv64" and "sv57" in facts.mmu


def images_in_use(facts: Facts, familiar: Callable[[str], str]) -> list[str]:
    """Every image a pod runs (healthy or not: a pod that has not crashed yet will)."""
    return sorted({familiar(c.image) for p in facts.cluster.pods for c in p.containers if c.image})


def apply(rep: Report, facts: Facts, results: dict, familiar: Callable[[str], str]) -> None:
    """Turn probe results into findings.  Old-Go images join the group of pods
    already seen crashing with the lfstack message, or make a group of their own."""
    old = {img: [(path, v) for path, v in r if go_before_120(v)]
           for img, r in results.items() if not isinstance(r, Exception)}
    old = {img: bins for img, bins in old.items() if bins}
    for img, r in sorted(results.items()):
        if isinstance(r, Exception):
            rep.notes.append(f"Sv57 kernel: the Go version of {img}'s binaries could not be read ({r})")
    if not old:
        return
    crashing = [g for g in rep.groups if g.cause == "go-sv57"]
    rest: dict[str, list[tuple[str, str]]] = {}
    for img, bins in old.items():
        owner = next((g for g in crashing if img in g.images), None)
        if owner is not None:
            owner.evidence.extend(_evidence(img, bins))
        else:
            rest[img] = bins
    if rest:
        pods = sorted({p.key for p in facts.cluster.pods for c in p.containers if familiar(c.image) in rest})
        n = len(rest)
        g = Group("sv57-images", f"{n} image{'s' if n != 1 else ''} run{'' if n != 1 else 's'} Go ≤ 1.19 "
                  f"binaries, which crash on this Sv57 kernel (fatal error: lfstack.push)", "error",
                  pods=pods, images=sorted(rest), weight=94)
        g.evidence.append(f"/proc/cpuinfo: mmu : {facts.mmu}")
        for img in sorted(rest):
            g.evidence.extend(_evidence(img, rest[img]))
        per_image = [fixes.render("go-sv57", image=img, platform=rep.platform) for img in sorted(rest)]
        g.fix = [lines[0] for lines in per_image] + per_image[0][1:]
        rep.groups.append(g)
    rep.sort()


def _evidence(img: str, bins: list[tuple[str, str]], limit: int = 3) -> list[str]:
    out = [f"{img}: {path} was built with {v}" for path, v in bins[:limit]]
    if len(bins) > limit:
        out.append(f"{img}: … and {len(bins) - limit} more Go binaries before Go 1.20")
    return out


def registry_probe(open_source: Callable[[str], object], platform: plat.Platform) -> Probe:
    """Read the Go version of every ELF in ``image``'s ``platform`` manifest;
    layers are streamed, never extracted (see :mod:`archport.check.listing`)."""

    def probe(image: str) -> list[tuple[str, str]]:
        src = open_source(image)
        top = src.resolve()
        m = top
        if isinstance(top, Index):
            desc = top.find(platform)
            if desc is None:
                return []          # no variant for the node: the cross-check already says so
            m = src.manifest(desc)
        if not isinstance(m, Manifest):
            return []
        return [(e["path"], e["go"]["version"]) for e in list_binaries(src, m) if "go" in e]
    return probe
