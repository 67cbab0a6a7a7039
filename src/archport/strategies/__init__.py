"""Strategies: how an image gets the platform it lacks.

``port`` tries them in a fixed order and explains its choice:

1. ``present``  the tag already has the platform: nothing to build;
2. ``mirror``   another source publishes the platform (catalog data): copy it,
               digest-preserved, after checking its contract matches;
3. ``go``       rebuild the same Go module at the same version for the target,
               flags read from the upstream binary's build info, fixups applied;
4. ``release``  download upstream's release asset, verified by its checksum;
5. ``c``        cross-compile a small C program statically (pause);
6. ``deb``      take the binary from a Debian package for the target.

Each strategy is one small object with two methods: :meth:`Strategy.consider`
says whether it applies and why (pure, cheap, no builds) and
:meth:`Strategy.build` produces the platform image.  Cross-cutting behaviour
(caching by inputs, recording) wraps a strategy; it is not inside one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, Protocol

from ..oci import Index, Manifest
from ..oci.config import ImageConfig
from ..platform import Platform
from ..reference import Reference
from ..store import Source


@dataclass(frozen=True, slots=True)
class Upstream:
    """The image being ported, as read from its registry."""

    ref: Reference                       # normalized upstream reference
    source: Source                       # reads it (through mirrors/credentials)
    top: Manifest | Index
    platforms: tuple[Platform, ...]      # what the tag offers
    reference: Manifest | None = None    # a platform manifest whose contract we keep (amd64 preferred)
    config: ImageConfig | None = None    # that manifest's config
    component: Any = None                # catalog Component, when the catalog knows the image

    @property
    def family(self) -> str:
        from ..oci import mediatypes as mt
        return mt.family_of(self.top.media_type)


@dataclass(frozen=True, slots=True)
class Env:
    """Everything a strategy may use; built once by the CLI (composition root)."""

    workdir: Path                        # scratch space for this run
    cache_dir: Path                      # content-addressed build outputs
    catalog: Any                         # archport.catalog.Catalog
    registry: Any = None                 # archport.registry.client.Client
    http: Any = None                     # httpx.Client for release/deb downloads (TLS verified)
    go_env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # GOPROXY, GOSUMDB, GOFLAGS, GOPRIVATE, GOTOOLCHAIN…
    go_version: str | None = None        # --go-version, applied through GOTOOLCHAIN
    allow_unverified: bool = False
    debian_archive: str | None = None    # --debian-archive (else the machine's apt sources)
    debian_keyring: str | None = None    # --debian-keyring (else the source's Signed-By, else Debian's)
    debian_suite: str | None = None      # --debian-suite (else the catalog's)
    source_date_epoch: int = 0
    log: Callable[[str], None] = lambda _msg: None   # progress lines; the CLI renders them


@dataclass(frozen=True, slots=True)
class Decision:
    applies: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a strategy produced: a built image, or (mirror/present) an
    existing manifest to copy from ``source``."""

    strategy: str
    reason: str
    built: Any = None                    # archport.build.assemble.Built
    source: Source | None = None         # for mirror: where the platform manifest lives
    manifest: Manifest | None = None     # for mirror: the platform manifest to copy as is
    fixups: tuple[str, ...] = ()         # fixup ids applied (recorded in provenance too)
    notes: tuple[str, ...] = ()          # e.g. "used archport's own pause.c (upstream source unavailable)"


class Strategy(Protocol):
    name: str

    def consider(self, up: Upstream, target: Platform, env: Env) -> Decision: ...

    def build(self, up: Upstream, target: Platform, env: Env) -> Outcome: ...


class NotPortable(Exception):
    """A strategy that applied could not finish; ``reason`` and ``next_step``
    are shown to the user (the compiler's error, fixups tried, what to try)."""

    def __init__(self, reason: str, next_step: str = "") -> None:
        super().__init__(reason)
        self.reason, self.next_step = reason, next_step


def require(strategy: Strategy, up: Upstream, target: Platform, env: Env) -> Platform:
    """The start of every ``build``: the normalized target, after ``consider``
    confirms the strategy still applies (else :class:`NotPortable` with why)."""
    from ..platform import normalize

    target = normalize(target)
    decision = strategy.consider(up, target, env)
    if not decision.applies:
        raise NotPortable(decision.reason)
    return target
