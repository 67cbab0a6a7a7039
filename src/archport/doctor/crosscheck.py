"""Registry cross-check: which platforms does each failing image offer?

:func:`cross_check` is pure: it takes a *lookup* callable
``(image_ref) -> list[Platform] | Exception`` and annotates the report.  The
real lookup (:func:`registry_lookup`) asks the registry through the same mirror and
credential settings archport uses elsewhere, one query
per distinct image, all in parallel (:func:`lookup_all`).  Mirrors
(``--mirror docker.io=host:port``) are applied by the registry client.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from .. import platform as plat
from .. import reference
from ..errors import ArchportError
from ..oci import Index
from ..oci.config import parse_config
from .report import Report

Lookup = Callable[[str], "list[plat.Platform] | Exception"]

# Causes for which asking the registry adds something: whether the image could
# ever run here once it is reachable / trusted / named right.
CHECKED = {"no-platform", "network", "tls-scheme", "tls-cert", "rate-limit", "unauthorized", "not-found",
           "clock", "sandbox", "unknown", "wrong-arch", "entrypoint", "unqualified", "never-pull"}


def images_to_check(rep: Report) -> list[str]:
    return sorted({i for g in rep.groups if g.cause in CHECKED for i in g.images})


def lookup_all(images: list[str], lookup: Lookup, workers: int = 8) -> dict[str, "list[plat.Platform] | Exception"]:
    """One lookup per distinct image, in parallel."""
    distinct = sorted(set(images))
    if not distinct:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(distinct)))) as pool:
        return dict(zip(distinct, pool.map(_safe(lookup), distinct)))


def _safe(lookup: Lookup) -> Lookup:
    def run(image: str):
        try:
            return lookup(image)
        except ArchportError as e:      # expected registry failures; anything else is a bug
            return e
    return run


def cross_check(rep: Report, results: dict[str, "list[plat.Platform] | Exception"]) -> None:
    """Annotate groups with the platforms each image offers, and name the port command."""
    target = plat.parse(rep.platform)
    for g in rep.groups:
        for image in g.images:
            if image not in results:
                continue
            r = results[image]
            g.platforms[image] = _entry(r, target)
            if isinstance(r, Exception):
                continue
            has = any(p.matches(target) for p in r)
            port = f"archport port {image} --arch {target.architecture} --to <your-registry>/<prefix>"
            if not has and port not in " ".join(g.fix):
                g.fix.append(f"{image} has no {target} variant in the registry either "
                             f"(offers {', '.join(str(p) for p in r) or 'nothing'}): {port}")
            if has and g.cause == "no-platform":
                g.consequences.append(f"the registry now lists {target} for {image}: the node may have pulled "
                                      "through a mirror or an older copy; check registries.yaml")


def _entry(r, target: plat.Platform) -> dict:
    if isinstance(r, Exception):
        return {"error": str(r)}
    return {"platforms": [str(p) for p in r], "has_node_platform": any(p.matches(target) for p in r)}


def registry_lookup(client) -> Lookup:
    """A lookup over an ``archport.registry.Client``.  The client applies the
    ``--mirror`` settings itself (mirrors first, then upstream, like containerd)."""

    def lookup(image: str):
        ref = reference.parse(image)
        m = client.get_manifest(ref)
        if isinstance(m, Index):
            return [p for p in m.platforms() if p.os != "unknown"]   # skip attestation entries
        # A single-platform manifest: its platform is in the config blob.
        with client.open_blob(ref, m.config) as chunks:
            cfg = parse_config(b"".join(chunks))
        if not cfg.architecture:
            return []
        return [plat.normalize(plat.Platform(cfg.os or "linux", cfg.architecture, cfg.variant or ""))]
    return lookup
