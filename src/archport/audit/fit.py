"""Does an image that offers the node's platform also fit its CPU?

A tag that lists ``linux/riscv64`` is exactly the one that can be built for
the wrong profile: nothing in the index says ``GORISCV64=rva23u64`` or
``-march=rv64gcv``.  With the board's CPU known (the ``cpu`` fact), the
image's riscv64 child is read from the endpoint that answered and every
ELF's need (:mod:`archport.check.isa`) is held against the board's
extensions.  :class:`Fit` is the verdict; :func:`registry_fit` the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .. import platform as plat
from ..catalog import riscv as profiles
from ..check import check_image
from ..check.isa import target_board
from ..errors import ArchportError
from ..images import open_source
from ..k3s.registries import Endpoint
from ..node.cpu import Cpu


@dataclass(frozen=True, slots=True)
class Binary:
    path: str
    lacking: tuple[str, ...]           # extensions it needs that the board lacks
    built_by: str

    def to_dict(self) -> dict:
        return {"path": self.path, "lacking": list(self.lacking), "built_by": self.built_by}


@dataclass(frozen=True, slots=True)
class Fit:
    needs: str | None = None           # the profile the image's binaries need ("rva22u64")
    binaries: int = 0                  # RISC-V ELFs that say what they need
    lacking: tuple[Binary, ...] = ()   # those that would die with SIGILL on the board
    error: str = ""                    # the image could not be read
    profile: str = ""                  # the board's profile as port's --profile takes it ("rva20")

    @property
    def fits(self) -> bool | None:
        return None if self.error else not self.lacking

    def to_dict(self) -> dict:
        return {"fits": self.fits, "needs": self.needs, "binaries": self.binaries,
                "lacking": [b.to_dict() for b in self.lacking], "error": self.error or None,
                "board_profile": self.profile or None}


#: the endpoint that answered -> the image's fit on the board
FitCheck = Callable[[Endpoint], Fit]


def board_name(cpu: Cpu) -> str:
    return f"{cpu.profile.upper() if cpu.profile else 'below RVA20U64'}, isa {cpu.isa}"


def registry_fit(client, cpu: Cpu, platform: plat.Platform = plat.RISCV64) -> FitCheck:
    """Read the image's ``platform`` child through ``client`` and check it against ``cpu``."""

    target = target_board(f"({board_name(cpu)})", cpu.extensions, cpu.profile)
    short = profiles.profile(cpu.profile).short if cpu.profile else "rva20"

    def fit(ep: Endpoint) -> Fit:
        try:
            report = check_image(open_source(ep.reference, client), platform, isa=target)
        except ArchportError as e:
            return Fit(error=str(e), profile=short)
        lacking = []
        for r in report.requirements:
            missing = profiles.missing(r.extensions, target.extensions)
            if missing:
                lacking.append(Binary(r.path, missing, r.describe_origin()))
        return Fit(report.needs, len(report.requirements), tuple(lacking), profile=short)
    return fit
