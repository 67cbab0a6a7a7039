"""Registry cross-check: which platforms does each failing image offer?

:func:`cross_check` is pure: it takes a *lookup* callable
``(image_ref) -> list[Platform] | Exception`` and annotates the report.  The
real lookup (:func:`registry_lookup`) asks the registry through the same mirror and
credential settings archport uses elsewhere, one query
per distinct image, all in parallel (:func:`lookup_all`).  Mirrors
(``--mirror docker.io=host:port``) are applied by the registry client.

A registry whose name does not resolve from this machine
(:class:`~archport.errors.HostUnreachable`) is asked once: its other images
are not tried, and the report says so once, in plain words, next to what
the node itself said about that registry (when the node could not reach it
either, the fix is a mirror or an airgap import, not the image).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from .. import platform as plat
from .. import reference
from ..errors import ArchportError, HostUnreachable
from ..images import offered_platforms
from ..node.paths import IMAGES, REGISTRIES
from .report import Report

Lookup = Callable[[str], "list[plat.Platform] | Exception"]

# Causes for which asking the registry adds something: whether the image could
# ever run here once it is reachable / trusted / named right.
CHECKED = {"no-platform", "network", "tls-scheme", "tls-cert", "rate-limit", "unauthorized", "not-found",
           "clock", "sandbox", "unknown", "wrong-arch", "entrypoint", "unqualified", "never-pull", "pull-failed",
           "unclassified"}


def images_to_check(rep: Report) -> list[str]:
    return sorted({i for g in rep.groups if g.cause in CHECKED for i in g.images})


def _domain(image: str) -> str:
    try:
        return reference.parse(image).domain
    except ArchportError:
        return ""


def lookup_all(images: list[str], lookup: Lookup, workers: int = 8) -> dict[str, "list[plat.Platform] | Exception"]:
    """One lookup per distinct image, in parallel; first one image per
    registry, then the others of each registry that answered.  A registry
    this machine cannot resolve gives its one error to all its images."""
    distinct = sorted(set(images))
    if not distinct:
        return {}
    by_host: dict[str, list[str]] = {}
    for image in distinct:
        by_host.setdefault(_domain(image), []).append(image)
    out: dict[str, "list[plat.Platform] | Exception"] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(distinct)))) as pool:
        firsts = [names[0] for names in by_host.values()]
        out.update(zip(firsts, pool.map(_safe(lookup), firsts)))
        rest = []
        for names in by_host.values():
            first = out[names[0]]
            if isinstance(first, HostUnreachable):
                out.update((n, first) for n in names[1:])
            else:
                rest += names[1:]
        out.update(zip(rest, pool.map(_safe(lookup), rest)))
    return {image: out[image] for image in distinct}


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
    _unreachable_notes(rep, results, target)
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
    if isinstance(r, HostUnreachable):
        return {"error": f"not checked: this machine cannot reach {r.domain or r.host} either (see the note "
                         f"below)", "unreachable": r.domain or r.host}
    if isinstance(r, Exception):
        return {"error": str(r)}
    return {"platforms": [str(p) for p in r], "has_node_platform": any(p.matches(target) for p in r)}


def registry_lookup(client) -> Lookup:
    """A lookup over an ``archport.registry.Client``.  The client applies the
    ``--mirror`` settings itself (mirrors first, then upstream, like containerd)."""

    def lookup(image: str):
        return offered_platforms(reference.parse(image), client)
    return lookup


def _unreachable_notes(rep: Report, results: dict, target: plat.Platform) -> None:
    """One note per registry this machine could not resolve: plain words,
    and what the node said about the same registry (its own evidence)."""
    hosts: dict[str, tuple[HostUnreachable, list[str]]] = {}
    for image, r in sorted(results.items()):
        if isinstance(r, HostUnreachable):
            hosts.setdefault(r.domain or r.host, (r, []))[1].append(image)
    for domain, (err, images) in hosts.items():
        note = (f"registry cross-check: {err}. {len(images)} image(s) on {domain} were not checked "
                f"({', '.join(images)}).")
        node = [(i, g) for i, g in enumerate(rep.groups, 1) if g.cause == "network" and g.host == domain]
        if node:
            i, g = node[0]
            said = f" (“{_telling(g.evidence[0])}”)" if g.evidence else ""
            names = " ".join(sorted({*images, *g.images}))
            note += (f" The node could not reach {domain} either, see {i}{said}: the board cannot reach the "
                     f"registry, so no image from it will pull until the board gets a mirror or an airgap "
                     f"import. From a machine that can reach {domain}, either push to a registry the board "
                     f"reaches and name it as the mirror: archport port {names} --arch {target.architecture} "
                     f"--to <your-registry>/<prefix>, then in {REGISTRIES} mirrors: "
                     f"{domain}: endpoint: [\"http://<your-registry>\"] (rewrite \"^(.*)$\": \"<prefix>/$1\"); "
                     f"or write an airgap archive: archport port {names} --arch {target.architecture} "
                     f"--to oci:./ported --airgap archport.tar.zst, copy archport.tar.zst into the board's "
                     f"{IMAGES}/ and restart k3s.")
        else:
            note += (f" The node's own messages above are the evidence; to check the registry too, run doctor "
                     f"where {domain} resolves, or with --mirror {domain}=HOST.")
        rep.notes.append(note)


def _telling(text: str, n: int = 160) -> str:
    """The part of a pull error that says why the network failed: from
    ``dial tcp`` on (containerd's wording), else its start."""
    at = text.find("dial tcp")
    text = "…" + text[at:] if at > 0 else text
    return text if len(text) <= n else text[: n - 1] + "…"
