"""What transplant asks of a base distribution, whichever it is.

A base (:mod:`.transplant_debian`, :mod:`.transplant_alpine`) is chosen in
``consider`` (cheap: the machine's configuration and the flags, no mirror
asked) and, in ``build``, gives the userland: the packages fetched from its
signed index, unpacked, and configured (:func:`archport.transplant.configure.configured`).
Each kind has a ``choose`` function with one signature, so the strategy
takes the bases in order without knowing which kinds there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar, Protocol

from ..fetch.alpine import KEYS_DIR, REPOSITORIES
from ..platform import Platform
from ..transplant.compose import Userland
from ..transplant.pkgdb import PackageDB
from . import Decision, Env, NotPortable


class MirrorUnreachable(NotPortable):
    """A base's mirror did not answer, or has no such release: the next base may be tried."""


@dataclass(frozen=True, slots=True)
class Machine:
    """This machine's package configuration, read when no flag names a
    mirror: apt's sources, apk's repositories and keys."""

    apt_sources: tuple[str, str] = ("/etc/apt/sources.list", "/etc/apt/sources.list.d")
    apk_repositories: str = REPOSITORIES
    apk_keys: str = KEYS_DIR


@dataclass(frozen=True, slots=True)
class Work:
    """One image's transplant, as a base sees it."""

    db: PackageDB                  # the upstream image's package database
    root: Path                     # its extracted root
    dir: Path                      # scratch space for this image
    backend: str                   # the iptables backend to point the family at ("": none)
    backend_why: str               # who chose it, for the record
    notes: list[str]               # progress and caveats, appended to


class Base(Protocol):
    """A distribution the packages come from (``Decision.plan`` of transplant)."""

    kind: ClassVar[str]            # "debian" | "alpine", as --transplant-onto spells it
    # An unreachable mirror is expected now and then (a configured Alpine
    # mirror): the next base in the catalog's order is then kept as fallback.
    may_not_answer: ClassVar[bool]
    label: str                     # "Debian trixie", "Alpine 3.22"
    chosen_by: str                 # "--transplant-onto", "the catalog", "the default"
    fallback: "Base | None"

    @property
    def where(self) -> tuple: ...

    def userland(self, work: Work, env: Env) -> Userland: ...


# choose(release, target, env, what, chosen_by, machine): a Decision whose plan is a Base.
Choose = Callable[[str, Platform, Env, str, str, Machine], Decision]


__all__ = ["Base", "Choose", "Machine", "MirrorUnreachable", "Work"]
