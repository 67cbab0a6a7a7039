"""A board's CPU, from the text it prints: ``/proc/cpuinfo`` and its hwcaps.

RISC-V Linux prints one block per hart (arch/riscv/kernel/cpu.c,
``show_cpuinfo``)::

    processor   : 0
    hart        : 1
    isa         : rv64imafdc_zicntr_zicsr_zifencei_zihpm_zba_zbb
    mmu         : sv39
    uarch       : sifive,u74-mc
    mvendorid   : 0x489              (since 6.1)
    marchid     : 0x8000000000000007
    mimpid      : 0x4210427
    hart isa    : rv64imafdc_…       (since 6.9; "isa" is then what all harts share)

The single-letter extensions userspace may use are also in ``AT_HWCAP``
(bit ``letter - 'a'``, arch/riscv/include/uapi/asm/hwcap.h), which glibc
prints with ``LD_SHOW_AUXV=1`` (``AT_HWCAP:  112d``) and which
``/proc/self/auxv`` holds as native-endian (type, value) pairs (read live as
``od`` words, :data:`AUXV_COMMAND`).  When hwcaps
are known they decide the single letters: the kernel leaves V out of
``AT_HWCAP`` when the vector unit cannot be used, even where the ISA line
names it.

Vendor kernels say more than the cores have: T-Head's C9xx cores print
``v`` for their 0.7.1 draft vector, which is not RVA23's V 1.0.  Two
signs give it away: the vendor kernel's own ``cpu-vector : 0.7.1`` line, and
T-Head's vendor ID with marchid 0 (the catalog's quirk, the same rule
mainline Linux applies).  Either turns ``v`` into ``xtheadvector``.

Everything here is pure: the text in, a :class:`Cpu` out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..binaries.riscv import parse_isa
from ..catalog import riscv as profiles
from ..errors import BadInput

AT_HWCAP = 16                       # include/uapi/linux/auxvec.h

# The commands whose output the parsers read (run over any connector).
CPUINFO_COMMAND = "cat /proc/cpuinfo"
# cat's own auxiliary vector, as od prints 64-bit words (native order, so
# the text is the same on any byte order); busybox's od takes the same flags,
# so boards without glibc (no LD_SHOW_AUXV) answer too.
AUXV_COMMAND = "cat /proc/self/auxv | od -A n -v -t x8"
_KV = re.compile(r"^([A-Za-z][A-Za-z0-9 _-]*?)\s*:\s*(.*)$")
_AUXV_LINE = re.compile(r"^AT_HWCAP:\s*(?:0x)?([0-9a-fA-F]+)\s*$")


@dataclass(frozen=True, slots=True)
class Cpu:
    isa: str                          # the ISA line as printed (common to all harts)
    extensions: frozenset[str]        # what userspace may use, after hwcaps and quirks
    profile: str | None               # the highest profile met ("rva22u64"), None below RVA20U64
    mmu: str = ""                     # "sv39" | "sv48" | "sv57" | "" (no MMU line)
    harts: int = 0
    uarch: str = ""
    mvendorid: int | None = None
    marchid: int | None = None
    mimpid: int | None = None
    hwcap: int | None = None
    notes: tuple[str, ...] = ()       # why the extensions differ from the ISA line

    @property
    def has_vector(self) -> bool:
        """RVV 1.0 (the V of the profiles), not T-Head's 0.7.1 draft."""
        return "v" in self.extensions

    def to_dict(self) -> dict:
        return {
            "isa": self.isa, "extensions": sorted(self.extensions), "profile": self.profile,
            "vector": self.has_vector, "mmu": self.mmu or None, "harts": self.harts,
            "uarch": self.uarch or None,
            "mvendorid": _hex(self.mvendorid), "marchid": _hex(self.marchid), "mimpid": _hex(self.mimpid),
            "hwcap": _hex(self.hwcap), "notes": list(self.notes),
        }


def _hex(v: int | None) -> str | None:
    return None if v is None else hex(v)


def _int(text: str, what: str) -> int:
    try:
        return int(text.strip(), 0)
    except ValueError:
        raise BadInput(f"/proc/cpuinfo: {what} {text.strip()[:40]!r} is not a number") from None


def hwcap_letters(hwcap: int) -> frozenset[str]:
    """The single-letter extensions an ``AT_HWCAP`` value names."""
    return frozenset(chr(ord("a") + bit) for bit in range(26) if hwcap >> bit & 1)


def parse_auxv_text(text: str) -> int | None:
    """``AT_HWCAP`` from ``LD_SHOW_AUXV=1`` output (glibc's ``_dl_show_auxv``)."""
    for line in text.splitlines():
        m = _AUXV_LINE.match(line.strip())
        if m:
            return int(m.group(1), 16)
    return None


def parse_auxv_words(text: str) -> int | None:
    """``AT_HWCAP`` from ``od -A n -t x8`` of ``/proc/self/auxv`` (:data:`AUXV_COMMAND`)."""
    try:
        words = [int(w, 16) for w in text.split()]
    except ValueError:
        raise BadInput("auxv: od printed something other than hexadecimal words") from None
    for kind, value in zip(words[::2], words[1::2]):
        if kind == 0:
            break
        if kind == AT_HWCAP:
            return value
    return None


def parse_auxv(data: bytes, order: str = "little") -> int | None:
    """``AT_HWCAP`` from the bytes of ``/proc/self/auxv`` (64-bit pairs)."""
    for i in range(0, len(data) - 15, 16):
        kind = int.from_bytes(data[i:i + 8], order)
        if kind == 0:
            break
        if kind == AT_HWCAP:
            return int.from_bytes(data[i + 8:i + 16], order)
    return None


def _blocks(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if cur:
                blocks.append(cur)
                cur = {}
            continue
        m = _KV.match(line.strip())
        if m:
            cur[m.group(1).strip().lower()] = m.group(2).strip()
    if cur:
        blocks.append(cur)
    return blocks


def parse_cpuinfo(text: str, hwcap: int | None = None) -> Cpu:
    """A board's CPU from its ``/proc/cpuinfo`` (and, when known, ``AT_HWCAP``).

    ``BadInput`` when the text has no RISC-V ``isa`` line.
    """
    harts = [b for b in _blocks(text) if "isa" in b]
    if not harts:
        raise BadInput("/proc/cpuinfo has no 'isa' line: not a RISC-V Linux, or not a cpuinfo")
    # Before 6.9 each block's isa is its own hart's: what every hart has is the intersection.
    sets = []
    for b in harts:
        xlen, exts = parse_isa(b["isa"])
        if xlen != 64:
            raise BadInput(f"/proc/cpuinfo: {b['isa'][:40]!r} is not a 64-bit RISC-V")
        sets.append(frozenset(exts))
    common = frozenset.intersection(*sets)
    first = harts[0]
    isa = first["isa"] if all(s == sets[0] for s in sets) else _common_isa(common)
    vendor = _int(first["mvendorid"], "mvendorid") if "mvendorid" in first else None
    arch = _int(first["marchid"], "marchid") if "marchid" in first else None
    impl = _int(first["mimpid"], "mimpid") if "mimpid" in first else None
    notes: list[str] = []
    have = set(common)
    if hwcap is not None:
        letters = hwcap_letters(hwcap)
        dropped = sorted(e for e in have if len(e) == 1 and e not in letters)
        if dropped:
            notes.append(f"AT_HWCAP {hwcap:#x} lacks {', '.join(dropped)}: the kernel does not let programs use "
                         f"{'it' if len(dropped) == 1 else 'them'}")
        have = {e for e in have if len(e) > 1} | {e for e in letters if e not in "su"}
    draft = first.get("cpu-vector", "")
    if "v" in have and draft and not draft.startswith("1."):
        have = (have - {"v"}) | {"xtheadvector"}
        notes.append(f"'v' is the vendor kernel's cpu-vector {draft}, not the ratified V 1.0: xtheadvector")
    fixed, quirks = profiles.apply_quirks(have, vendor, arch)
    for q in quirks:
        notes.append(f"vendor {vendor:#x} marchid {arch:#x}: {', '.join(sorted(q.drop))} is "
                     f"{', '.join(sorted(q.add))} ({q.source})")
    met = profiles.met_profile(fixed)
    mmu = first.get("mmu", "").lower()
    return Cpu(isa=isa, extensions=frozenset(fixed), profile=met.name if met else None, mmu=mmu,
               harts=len(harts), uarch=first.get("uarch", "") or first.get("model name", ""),
               mvendorid=vendor, marchid=arch, mimpid=impl, hwcap=hwcap, notes=tuple(notes))


def _common_isa(exts: frozenset[str]) -> str:
    letters = "".join(c for c in "imafdqcbvh" if c in exts)
    multi = sorted(e for e in exts if len(e) > 1)
    return "rv64" + letters + "".join("_" + e for e in multi)
