"""Verdicts: for each needed image, where the node would get it and whether
it has the node's platform.  Pure apart from the injected ``lookup``."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Mapping

from .. import platform as plat
from ..errors import ArchportError, TransportError
from ..k3s.registries import Endpoint, Registries, Resolution, resolve
from .fit import Fit, FitCheck
from .inventory import Inventory, Need

# (endpoint) -> the platforms its tag offers; raises ArchportError when it cannot say.
Lookup = Callable[[Endpoint], "list[plat.Platform]"]


@dataclass(frozen=True, slots=True)
class Attempt:
    endpoint: Endpoint
    platforms: tuple[plat.Platform, ...] | None = None
    error: str = ""
    unreachable: str = ""      # the registry this machine could not reach at all (no answer, no name)

    def to_dict(self) -> dict:
        d = self.endpoint.to_dict()
        if self.platforms is not None:
            d["platforms"] = [str(p) for p in self.platforms]
        if self.error:
            d["error"] = self.error
        if self.unreachable:
            d["unreachable"] = self.unreachable
        return d


@dataclass(frozen=True, slots=True)
class Unreached:
    """A registry this machine could not reach, and the images it left
    unchecked: one cause said once, not once per image."""

    registry: str
    cause: str
    images: tuple[str, ...]
    mirror_of: str = ""        # a registries.yaml endpoint: the registry it mirrors for the node

    def to_dict(self) -> dict:
        return {"registry": self.registry, "cause": self.cause, "images": list(self.images),
                "mirrorOf": self.mirror_of or None}


@dataclass(frozen=True, slots=True)
class Row:
    need: Need
    resolution: Resolution
    target: plat.Platform
    attempts: tuple[Attempt, ...] = ()     # containerd's order, up to the first that answered
    supplied_by: str = ""                  # "image store" or "agent/images/<archive>": no pull needed
    looked_up: bool = True
    fit: Fit | None = None                 # its binaries against the board's CPU (when known)

    @property
    def in_store(self) -> bool:
        return bool(self.supplied_by)

    @property
    def answered(self) -> Attempt | None:
        return next((a for a in self.attempts if a.platforms is not None), None)

    @property
    def platforms(self) -> tuple[plat.Platform, ...] | None:
        a = self.answered
        return a.platforms if a else None

    @property
    def has_platform(self) -> bool | None:
        p = self.platforms
        return None if p is None else any(x.matches(self.target) for x in p)

    @property
    def status(self) -> str:
        """ok | unfit | in-store | missing | unknown | not-checked"""
        if self.has_platform:
            return "unfit" if self.fit is not None and self.fit.fits is False else "ok"
        if self.in_store:
            return "in-store"
        if not self.looked_up:
            return "not-checked"
        return "missing" if self.has_platform is False else "unknown"

    @property
    def problem(self) -> bool:
        return self.status in ("missing", "unknown", "unfit")

    @property
    def error(self) -> str:
        return "; ".join(f"{a.endpoint.url}: {a.error}" for a in self.attempts if a.error)

    def to_dict(self) -> dict:
        a = self.answered
        return {
            **self.need.to_dict(),
            "status": self.status,
            "platforms": [str(p) for p in self.platforms] if self.platforms is not None else None,
            "has_node_platform": self.has_platform,
            "pull_from": a.endpoint.to_dict() if a else None,
            "endpoints": [e.to_dict() for e in self.resolution.endpoints],
            "attempts": [x.to_dict() for x in self.attempts],
            "in_image_store": self.in_store,
            "supplied_by": self.supplied_by or None,
            "notes": list(self.resolution.notes),
            "isa": self.fit.to_dict() if self.fit is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Audit:
    target: plat.Platform
    rows: tuple[Row, ...]
    inventory: Inventory
    source: str = ""
    board: str = ""                        # the CPU the fits were checked against ("" = not checked)

    @property
    def problems(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.problem)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unreached(self) -> tuple[Unreached, ...]:
        """Per registry (first seen first): why it could not be reached, and
        which unanswered images it leaves unchecked.  An image some endpoint
        answered for is not among them (containerd would pull it from there)."""
        found: dict[str, tuple[str, str, list[str]]] = {}
        for r in self.rows:
            if r.answered is not None:
                continue
            for a in r.attempts:
                if a.unreachable:
                    mirror_of = "" if a.endpoint.default else a.endpoint.mirror
                    found.setdefault(a.unreachable, (a.error, mirror_of, []))[2].append(r.need.familiar)
        return tuple(Unreached(reg, cause, tuple(dict.fromkeys(imgs)), mirror_of)
                     for reg, (cause, mirror_of, imgs) in found.items())

    def to_dict(self) -> dict:
        inv = self.inventory
        return {
            "source": self.source, "platform": str(self.target), "k3s_version": inv.k3s_version or None,
            "system_default_registry": inv.system_default_registry or None, "disabled": list(inv.disabled),
            "complete": self.ok, "missing": [r.need.image for r in self.problems],
            "images": [r.to_dict() for r in self.rows], "notes": list(inv.notes),
            "board": self.board or None, "unreachable": [u.to_dict() for u in self.unreached],
        }


def audit(inv: Inventory, target: plat.Platform, registries: Registries = Registries(), *,
          lookup: Lookup | None = None, version: str | None = None,
          in_store: Iterable[str] | Mapping[str, str] = (),
          disable_default_endpoint: bool = False, workers: int = 8,
          fit: FitCheck | None = None) -> Audit:
    """Resolve every needed image through ``registries`` and, with a
    ``lookup``, ask its endpoints in containerd's order until one answers.
    ``in_store``: normalized names the node already holds, optionally mapped
    to where from (its image store, an airgap archive).  ``fit`` checks the
    binaries of each image that offers ``target`` against the board's CPU.
    The caller labels the result (``source``, ``board``): it knows the node."""
    store = dict(in_store) if isinstance(in_store, Mapping) else {n: "image store" for n in in_store}
    resolutions = [resolve(n.image, registries, version or inv.k3s_version or None, disable_default_endpoint)
                   for n in inv.needs]

    def one(pair: tuple[Need, Resolution]) -> Row:
        need, res = pair
        attempts = _ask(res, lookup) if lookup is not None else ()
        row = Row(need, res, target, attempts, store.get(need.image, ""), lookup is not None)
        if fit is not None and row.has_platform:
            row = replace(row, fit=fit(row.answered.endpoint))
        return row

    pairs = list(zip(inv.needs, resolutions))
    if lookup is None or len(pairs) < 2:
        rows = [one(p) for p in pairs]
    else:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(pairs)))) as pool:
            rows = list(pool.map(one, pairs))
    return Audit(target, tuple(rows), inv)


def _ask(res: Resolution, lookup: Lookup) -> tuple[Attempt, ...]:
    """containerd moves to the next endpoint when one fails or lacks the tag
    (the CRI plugin's resolver walks the host list); so do we."""
    out = []
    for ep in res.endpoints:
        try:
            platforms = tuple(lookup(ep))
        except TransportError as e:
            # No answer at all: the registry (its name, as the user knows it), not this image.
            out.append(Attempt(ep, None, str(e), getattr(e, "domain", "") or _registry(ep)))
            continue
        except ArchportError as e:
            out.append(Attempt(ep, None, str(e)))
            continue
        out.append(Attempt(ep, platforms))
        break
    return tuple(out)


def _registry(ep: Endpoint) -> str:
    """The registry an endpoint is: the image's own by its name, a mirror by its host."""
    return ep.reference.domain if ep.default else ep.host
