"""Strategies: how an image gets the platform it lacks.

``port`` tries them in a fixed order and explains its choice:

1. ``present``  the tag already has the platform: nothing to build;
2. ``mirror``   another source publishes the platform (catalog data): copy it,
               digest-preserved, after checking its contract matches;
3. ``go``       rebuild the same Go module at the same version for the target,
               flags read from the upstream binary's build info, fixups applied;
4. ``release``  download upstream's release asset, verified by its checksum;
5. ``c``        cross-compile a small C program statically (pause);
6. ``deb``      take the binary from a Debian package for the target;
7. ``transplant`` rebuild a distro-based image's userland from the target's
               packages, carrying everything else (:mod:`archport.transplant`).

Each strategy is one small object with two methods.  :meth:`Strategy.consider`
says whether it applies and why; it is cheap (no build, no download) but not
pure: it may read the catalog, local tool and apt configuration, and — for
``mirror`` — an alternative's manifest and config.  What it learned travels
to :meth:`Strategy.build` in :attr:`Decision.plan`, so nothing is read twice.
``build`` produces the platform image.  Every strategy gets the same
:class:`Env`, built once by the CLI: shared services and one options record
per strategy.

Cross-cutting behaviour wraps a strategy; it is not inside one.  Caching by
inputs is :class:`archport.strategies.cached.Cached`: a strategy whose build
has one expensive step (``go``: download and compile; ``c``: fetch and
compile) splits its ``build`` into ``prepare`` (the inputs, cheap), ``make``
(the expensive step, producing files) and ``finish`` (the image), and the
wrapper keeps ``make``'s files by the inputs' hash (:mod:`archport.cache`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, Protocol

from ..errors import NotPortable
from ..oci import Index, Manifest
from ..oci import mediatypes as mt
from ..oci.config import ImageConfig
from ..platform import Platform, normalize
from ..reference import Reference
from ..store import Source
from ..toolchain.gocompile import GoOptions
from .options import AlpineOptions, DebianOptions, ReleaseOptions, TransplantOptions


@dataclass(frozen=True, slots=True)
class Upstream:
    """The image being ported, as read from its registry."""

    ref: Reference                       # normalized upstream reference
    source: Source                       # reads it (through mirrors/credentials)
    top: Manifest | Index
    platforms: tuple[Platform, ...]      # what the tag offers
    manifest: Manifest | None = None     # the platform manifest whose contract we keep (amd64 preferred)
    config: ImageConfig | None = None    # that manifest's config
    component: Any = None                # catalog Component, when the catalog knows the image

    @property
    def family(self) -> str:
        return mt.family_of(self.top.media_type)


@dataclass(frozen=True, slots=True)
class Env:
    """What every strategy (and the port orchestration) may use, built once by
    the CLI (composition root): the shared services, then one options record
    per strategy (:mod:`.options`).  The library reads no environment
    variables: the CLI passes what child processes get."""

    workdir: Path                        # scratch space for this run
    cache_dir: Path                      # content-addressed build outputs
    catalog: Any                         # archport.catalog.Catalog
    registry: Any = None                 # archport.registry.client.Client (upstream, alternatives, destination)
    http: Any = None                     # httpx.Client for release/deb downloads (TLS verified)
    go: GoOptions = GoOptions()          # go, c (its module proxy), transplant's Go binaries
    debian: DebianOptions = DebianOptions()
    alpine: AlpineOptions = AlpineOptions()
    transplant: TransplantOptions = TransplantOptions()
    release: ReleaseOptions = ReleaseOptions()
    # The RISC-V profile riscv64 code is built for (catalog/riscv.toml): Go's
    # GORISCV64 (the CLI puts it in go.env) and the C compilers' -march.
    isa_profile: str = "rva20u64"
    source_date_epoch: int = 0
    # The environment of other programs a strategy runs (C compilers: PATH,
    # HOME for zig's cache, SOURCE_DATE_EPOCH).
    process_env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Progress: lines of text, and archport.progress.Phase events (a step's
    # start and end, str() a line too); the CLI renders them.
    log: Callable[[Any], None] = lambda _msg: None


@dataclass(frozen=True, slots=True)
class Decision:
    applies: bool
    reason: str
    plan: Any = None                     # what consider found, for build (strategy-specific)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a strategy produced: a built image, or (mirror/present) an
    existing manifest to copy from ``source``."""

    strategy: str
    reason: str
    built: Any = None                    # archport.assemble.image.Built
    source: Source | None = None         # for mirror: where the platform manifest lives
    manifest: Manifest | None = None     # for mirror: the platform manifest to copy as is
    fixups: tuple[str, ...] = ()         # fixup ids applied (recorded in provenance too)
    notes: tuple[str, ...] = ()          # e.g. "used archport's own pause.c (upstream source unavailable)"
    # What the run used, as far as the strategy knows it (archport.attest.model.BuildRecord:
    # fixups, substitutions, materials, builder); the port fills in the rest.
    record: Any = None


class Strategy(Protocol):
    name: str

    def consider(self, up: Upstream, target: Platform, env: Env) -> Decision: ...

    def build(self, up: Upstream, target: Platform, env: Env, decision: Decision | None = None) -> Outcome: ...


@dataclass(frozen=True, slots=True)
class Prepared:
    """A staged strategy's inputs: ``inputs`` (JSON-able) are everything the
    expensive step's files depend on, and so the cache key; ``context`` is
    what ``make`` and ``finish`` need; ``label`` names the work in progress lines."""

    inputs: Mapping[str, Any]
    context: Any = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class Product:
    """What the expensive step made: files (name -> host path) and a JSON-able
    record.  ``keep=False``: not worth keeping (a fallback to retry next time)."""

    files: Mapping[str, Path]
    record: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    keep: bool = True


class Staged(Strategy, Protocol):
    """A strategy whose build is prepare → make → finish (what caching wraps)."""

    def prepare(self, up: Upstream, target: Platform, env: Env, decision: Decision | None) -> Prepared: ...

    def make(self, prepared: Prepared, target: Platform, env: Env) -> Product: ...

    def finish(self, up: Upstream, target: Platform, env: Env, prepared: Prepared, product: Product) -> Outcome: ...


def run_staged(strategy: Staged, up: Upstream, target: Platform, env: Env,
               decision: Decision | None = None) -> Outcome:
    """A staged strategy's ``build`` without a cache."""
    prepared = strategy.prepare(up, target, env, decision)
    return strategy.finish(up, target, env, prepared, strategy.make(prepared, target, env))


def require(strategy: Strategy, up: Upstream, target: Platform, env: Env,
            decision: Decision | None = None) -> tuple[Platform, Decision]:
    """The start of every ``build``: the normalized target and the decision,
    ``consider``'s own when the caller passes none (else :class:`NotPortable`
    with why it does not apply)."""
    target = normalize(target)
    if decision is None:
        decision = strategy.consider(up, target, env)
    if not decision.applies:
        raise NotPortable(decision.reason)
    return target, decision
