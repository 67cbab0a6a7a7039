"""A package base whose binaries need more than the port's RISC-V profile is refused.

Distributions now build riscv64 for RVA23 (Ubuntu from 25.10): their
packages' ELFs carry ``Tag_RISCV_arch`` with V, Zicond, Zcb… and die with
SIGILL on the RV64GC boards most people run.  A transplant that took its
userland from such a base would publish an image no index entry warns
about, so the userland is checked before it is composed: every RISC-V ELF a
package ships (:func:`archport.check.isa.requirement`) against the target
profile (``port --profile``, RVA20U64 by default).  The first one that needs
an extension the profile lacks stops the port, naming the binary, its
package and the base it came from.
"""

from __future__ import annotations

import io

from ..binaries.elf import identify, is_elf
from ..catalog import riscv as profiles
from ..check.isa import requirement, target_profile
from ..errors import BadInput, NotPortable
from ..platform import Platform
from ..transplant.compose import Userland

_HEAD = 64


def _open(spec):
    if spec.data is not None:
        return io.BytesIO(spec.data)
    if spec.source:
        return open(spec.source, "rb")
    return None


def refuse_above(land: Userland, target: Platform, profile_name: str) -> int:
    """Raise :class:`NotPortable` at the first package binary that needs more than
    ``profile_name``; returns how many RISC-V binaries were read."""
    if target.architecture != "riscv64":
        return 0
    t = target_profile(profile_name)
    read = 0
    for label, specs in land.packages:
        for spec in specs:
            if spec.kind != "file":
                continue
            f = _open(spec)
            if f is None:
                continue
            with f:
                head = f.read(_HEAD)
                if not is_elf(head):
                    continue
                hdr = identify(head)
                if hdr is None or hdr.goarch != "riscv64":
                    continue
                try:
                    need = requirement("/" + spec.path.lstrip("/"), f)
                except BadInput:
                    continue          # unreadable attributes: the kernel may still run it
            read += 1
            if need is None:
                continue
            lacking = profiles.missing(need.extensions, t.extensions)
            if lacking:
                raise NotPortable(
                    f"{land.label} ({land.source}): {need.path} of {label} needs {', '.join(lacking)}, which "
                    f"{t.name} lacks (built with {need.describe_origin()}): its packages would die with "
                    f"SIGILL on {t.name} boards",
                    f"transplant onto a base built for {t.name} (--transplant-onto), or port --profile "
                    f"{need.profile.removesuffix('u64') if need.profile else '<higher>'} if every board "
                    "has that profile")
    return read
