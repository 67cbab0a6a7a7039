"""What a RISC-V ELF says it needs: its ``.riscv.attributes`` and its producer.

The RISC-V ELF psABI ("Attributes" chapter of riscv-elf.adoc) gives every
object a ``.riscv.attributes`` section (``SHT_RISCV_ATTRIBUTES``,
0x70000003; the linker also maps it with a ``PT_RISCV_ATTRIBUTES`` program
header of the same number) in the generic ELF build-attributes format::

    'A'                                   format version
    then subsections:  u32 length (itself included), NUL-terminated vendor
                       ("riscv"), then sub-subsections:
                       ULEB128 tag (1 = Tag_file), u32 length (tag included),
                       then attributes: ULEB128 tag, then a value —
                       a NUL-terminated string for odd tags, ULEB128 for even

``Tag_RISCV_arch`` (5) is the ISA string the linker merged from every object
(``rv64i2p1_m2p0_a2p1_f2p2_d2p2_c2p0_v1p0_zicsr2p0…``): the extensions the
code was compiled to use.  It is read by hand here (it is small) rather than
through pyelftools' attribute classes, so that a file whose section headers
were stripped is still read through its program header, and so that every
way a hostile file can be wrong is one :class:`~archport.errors.BadInput`.

:func:`parse_isa` reads an ISA string, whether an attribute's or the ``isa``
line of ``/proc/cpuinfo``, into the extension names it lists (versions
dropped, lower case).  What the names imply and which profile they make is
:mod:`archport.catalog.riscv`'s business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

from elftools.elf.elffile import ELFFile

from ..errors import BadInput
from .elf import with_elf

SHT_RISCV_ATTRIBUTES = 0x70000003
PT_RISCV_ATTRIBUTES = 0x70000003
TAG_FILE = 1
TAG_STACK_ALIGN = 4
TAG_ARCH = 5
TAG_UNALIGNED_ACCESS = 6
_MAX_SECTION = 1 << 20          # real attribute sections are a few hundred bytes
_MAX_COMMENT = 64 * 1024


@dataclass(frozen=True, slots=True)
class Attributes:
    """The file-scope RISC-V attributes of one ELF (only what is there)."""

    arch: str = ""                  # Tag_RISCV_arch, as written
    stack_align: int | None = None
    unaligned_access: bool | None = None
    producer: str = ""              # the first .comment string ("GCC: (Debian 12.2.0-13) 12.2.0")

    @property
    def extensions(self) -> frozenset[str]:
        return frozenset(parse_isa(self.arch)[1]) if self.arch else frozenset()


# --- ISA strings --------------------------------------------------------------

_BASE = re.compile(r"^rv(32|64|128)")
_VERSION = re.compile(r"\d+(?:p\d+)?")
_MULTI = re.compile(r"^([a-z][a-z0-9]*?[a-z])(\d+(?:p\d+)?)?$")
# Old ISA strings (the kernel's before 5.x, vendor kernels still) append the
# privilege modes "s" and "u" to the single letters; they are not extensions.
_MODES = frozenset("su")


def _letters(token: str, text: str, first: bool) -> list[str]:
    """Single-letter extensions, each with an optional version (``i2p1``); a
    multi-letter one may follow them without a ``_`` (``rv64gczba``)."""
    out: list[str] = []
    i = 0
    while i < len(token):
        c = token[i]
        if not c.isalpha():
            raise BadInput(f"ISA string {text[:80]!r}: unexpected {c!r}")
        if c in "zx":
            mm = _MULTI.match(token[i:])
            if mm is None:
                raise BadInput(f"ISA string {text[:80]!r}: cannot read extension {token[i:i + 40]!r}")
            out.append(mm.group(1))
            break
        i += 1
        v = _VERSION.match(token, i)
        if v is not None:
            i = v.end()
        if not (first and c in _MODES):
            out.append(c)
    return out


def parse_isa(text: str) -> tuple[int, tuple[str, ...]]:
    """``(xlen, extensions)`` of an ISA string, extensions in the order written.

    Accepts the ISA naming convention of the unprivileged spec (chapter "ISA
    Extension Naming Conventions"): ``rv64`` + single-letter extensions, each
    with an optional version (``2p1``), then ``_``-separated multi-letter
    ones (``zba``, ``zve64d1p0``, ``xtheadvector``).  ``BadInput`` when it is
    not one.
    """
    s = text.strip().lower()
    m = _BASE.match(s)
    if m is None:
        raise BadInput(f"not a RISC-V ISA string (no rv32/rv64 prefix): {text[:80]!r}")
    xlen = int(m.group(1))
    out: list[str] = []
    for n, token in enumerate(s[m.end():].split("_")):
        if not token:
            continue
        if token[0] in "zx" or (n and token[0] == "s"):
            mm = _MULTI.match(token)
            if mm is None:
                raise BadInput(f"ISA string {text[:80]!r}: cannot read extension {token[:40]!r}")
            out.append(mm.group(1))
        else:
            out.extend(_letters(token, text, first=n == 0))
    return xlen, tuple(dict.fromkeys(out))


# --- the attributes section ---------------------------------------------------

def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    n, shift = 0, 0
    while True:
        if pos >= len(data):
            raise BadInput("malformed .riscv.attributes: truncated ULEB128")
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n, pos
        shift += 7
        if shift > 63:
            raise BadInput("malformed .riscv.attributes: overlong ULEB128")


def _ntbs(data: bytes, pos: int, end: int) -> tuple[str, int]:
    nul = data.find(b"\0", pos, end)
    if nul == -1:
        raise BadInput("malformed .riscv.attributes: unterminated string")
    return data[pos:nul].decode("utf-8", "replace"), nul + 1


def parse_attributes(data: bytes) -> dict[int, int | str]:
    """The file-scope attributes of the ``riscv`` vendor subsection, by tag."""
    if not data or data[0] != ord("A"):
        raise BadInput("malformed .riscv.attributes: no format-version 'A'")
    out: dict[int, int | str] = {}
    pos = 1
    while pos + 4 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "little")
        end = pos + length
        if length < 5 or end > len(data):
            raise BadInput("malformed .riscv.attributes: subsection length out of bounds")
        vendor, p = _ntbs(data, pos + 4, end)
        if vendor == "riscv":
            while p < end:
                tag, q = _uleb(data, p)
                if q + 4 > end:
                    raise BadInput("malformed .riscv.attributes: truncated sub-subsection")
                sub_len = int.from_bytes(data[q:q + 4], "little")
                sub_end = p + sub_len
                if sub_len < 5 or sub_end > end:
                    raise BadInput("malformed .riscv.attributes: sub-subsection length out of bounds")
                if tag == TAG_FILE:
                    _attributes(data, q + 4, sub_end, out)
                p = sub_end                 # Tag_section/Tag_symbol scopes: not used by the toolchains
        pos = end
    return out


def _attributes(data: bytes, pos: int, end: int, out: dict[int, int | str]) -> None:
    while pos < end:
        tag, pos = _uleb(data, pos)
        if tag % 2:
            out[tag], pos = _ntbs(data, pos, end)
        else:
            out[tag], pos = _uleb(data, pos)
        if pos > end:
            raise BadInput("malformed .riscv.attributes: attribute runs past its sub-subsection")


def read_attributes(data: bytes | BinaryIO) -> Attributes | None:
    """The RISC-V attributes of an ELF file; ``None`` when it is not a RISC-V
    ELF or carries none (Go's linker writes none).  The stream's position is
    restored."""
    def sections(elf: ELFFile, stream: BinaryIO) -> tuple[bytes | None, str] | None:
        if elf["e_machine"] != "EM_RISCV":
            return None
        return _section_bytes(elf, stream), _producer(elf, stream)

    found = with_elf(data, sections)
    if found is None:
        return None
    raw, producer = found
    if raw is None:
        return Attributes(producer=producer) if producer else None
    tags = parse_attributes(raw)
    arch = tags.get(TAG_ARCH, "")
    stack = tags.get(TAG_STACK_ALIGN)
    unaligned = tags.get(TAG_UNALIGNED_ACCESS)
    return Attributes(arch=arch if isinstance(arch, str) else "",
                      stack_align=stack if isinstance(stack, int) else None,
                      unaligned_access=bool(unaligned) if isinstance(unaligned, int) else None,
                      producer=producer)


def _read(stream: BinaryIO, offset: int, size: int, limit: int) -> bytes:
    if size > limit:
        raise BadInput(f"malformed ELF: attribute data of {size} bytes")
    stream.seek(offset)
    return stream.read(size)


def _section_bytes(elf: ELFFile, stream: BinaryIO) -> bytes | None:
    for sec in elf.iter_sections() if elf.num_sections() else ():
        kind = sec["sh_type"]
        if kind == "SHT_RISCV_ATTRIBUTES" or kind == SHT_RISCV_ATTRIBUTES:
            return _read(stream, sec["sh_offset"], sec["sh_size"], _MAX_SECTION)
    for seg in elf.iter_segments():
        kind = seg["p_type"]
        if kind == "PT_RISCV_ATTRIBUTES" or kind == PT_RISCV_ATTRIBUTES:
            return _read(stream, seg["p_offset"], seg["p_filesz"], _MAX_SECTION)
    return None


def _producer(elf: ELFFile, stream: BinaryIO) -> str:
    """The first string of ``.comment`` (the compiler that made the code)."""
    sec = elf.get_section_by_name(".comment") if elf.num_sections() else None
    if sec is None or sec["sh_type"] == "SHT_NOBITS":
        return ""
    blob = _read(stream, sec["sh_offset"], min(sec["sh_size"], _MAX_COMMENT), _MAX_COMMENT)
    first = next((s for s in blob.split(b"\0") if s.strip()), b"")
    return first.decode("utf-8", "replace").strip()[:200]
