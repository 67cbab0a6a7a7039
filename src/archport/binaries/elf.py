"""What an ELF file is built for: machine, class, byte order, linking.

Two questions, one machine table (:func:`goarch_of`, over pyelftools'
``e_machine`` names):

* :func:`identify` — from the first 20 bytes only (``e_ident`` and
  ``e_machine``), which is all the kernel looks at before refusing a foreign
  binary with ENOEXEC; used where only a file's head is at hand;
* :func:`read_elf` — the whole story (interpreter, DT_NEEDED) from a stream.

Parsing is pyelftools' job; this module only asks it questions and turns every
way a broken file can make it fail into one :class:`BadInput`.  Program headers
(segments) are used rather than section headers, because those are what the
kernel and the dynamic loader read (and ``strip``/``sstrip`` may damage
sections without changing how the file runs).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import BinaryIO, Callable, TypeVar

from elftools.common.exceptions import ELFError
from elftools.construct.core import ConstructError
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_E_MACHINE

from ..errors import BadInput

T = TypeVar("T")

ELF_MAGIC = b"\x7fELF"
_MACHINES = {v: k for k, v in ENUM_E_MACHINE.items() if isinstance(v, int) and k.startswith("EM_")}

# The exceptions pyelftools lets escape on hostile input (found by fuzzing
# truncated and scribbled files in tests/binaries/test_elf.py).
PARSE_ERRORS = (ELFError, ConstructError, struct.error, ValueError, KeyError,
                IndexError, EOFError, UnicodeDecodeError, AttributeError, TypeError,
                OverflowError, AssertionError, RecursionError, MemoryError)


@dataclass(frozen=True, slots=True)
class ElfInfo:
    machine: str          # e_machine name, e.g. "EM_RISCV"
    goarch: str | None    # GOARCH name, None when no Go port matches
    elf_class: int        # 32 or 64
    endianness: str       # "little" | "big"
    static: bool          # no PT_INTERP and no DT_NEEDED
    interpreter: str | None
    needed: tuple[str, ...]


def is_elf(head: bytes) -> bool:
    """The file's first bytes are the ELF magic (System V gABI, ``e_ident[EI_MAG0..EI_MAG3]``):
    the one test archport uses for "this is a program or a shared library"."""
    return head[:4] == ELF_MAGIC


@dataclass(frozen=True, slots=True)
class Header:
    """What ``e_ident`` and ``e_machine`` say (the first 20 bytes)."""

    machine: str          # e_machine name, "EM_<n>" when pyelftools has none
    elf_class: int        # 32 or 64
    endianness: str       # "little" | "big"
    goarch: str | None

    def describe(self) -> str:
        return self.goarch or f"{self.machine} ELF{self.elf_class} {self.endianness}-endian"


def identify(head: bytes) -> Header | None:
    """The header of an ELF file from its first bytes; None when they are not
    a well-formed ELF identification (too short, bad class or byte order)."""
    if len(head) < 20 or head[:4] != ELF_MAGIC or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    endian = "little" if head[5] == 1 else "big"
    (num,) = struct.unpack("<H" if endian == "little" else ">H", head[18:20])
    machine = _MACHINES.get(num, f"EM_{num}")
    elf_class = 32 if head[4] == 1 else 64
    return Header(machine, elf_class, endian, goarch_of(machine, elf_class, endian))


def goarch_of(machine: str, elf_class: int, endianness: str) -> str | None:
    """GOARCH for an ELF header (cmd/dist's list of ports; debug/elf names)."""
    little = endianness == "little"
    if machine == "EM_X86_64":
        return "amd64" if elf_class == 64 else None      # ELF32 x86-64 is x32, no Go port
    if machine == "EM_386":
        return "386"
    if machine == "EM_AARCH64":
        return "arm64" if little else None
    if machine == "EM_ARM":
        return "arm" if little else None
    if machine == "EM_RISCV":
        return "riscv64" if elf_class == 64 else None
    if machine == "EM_PPC64":
        return "ppc64le" if little else "ppc64"
    if machine == "EM_S390":
        return "s390x" if elf_class == 64 else None
    if machine == "EM_LOONGARCH":
        return "loong64" if elf_class == 64 else None
    if machine == "EM_MIPS":
        return ("mips64" if elf_class == 64 else "mips") + ("le" if little else "")
    return None


def with_elf(data: bytes | BinaryIO, read: Callable[[ELFFile, BinaryIO], T]) -> T | None:
    """``read(elf, stream)`` on an ELF file; ``None`` when ``data`` is not ELF.

    A file that starts like ELF but cannot be parsed raises
    ``BadInput("malformed ELF: …")``.  ELF offsets are absolute, so the file
    starts at offset 0 of a stream; the stream's position is restored."""
    stream: BinaryIO = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    start = stream.tell()
    try:
        stream.seek(0)
        if not is_elf(stream.read(4)):
            return None
        stream.seek(0)
        try:
            return read(ELFFile(stream), stream)
        except PARSE_ERRORS as e:
            raise BadInput(f"malformed ELF: {describe_parse_error(e)}") from None
    finally:
        stream.seek(start)


def read_elf(data: bytes | BinaryIO) -> ElfInfo | None:
    """Facts about an ELF file, ``None`` when ``data`` is not ELF at all.
    A stream is read lazily (headers and the dynamic segment only), so a
    100 MB binary costs a few small reads (see :func:`with_elf`)."""
    return with_elf(data, lambda elf, _stream: _read(elf))


def _read(elf: ELFFile) -> ElfInfo:
    machine = elf["e_machine"]
    if not isinstance(machine, str):             # an e_machine pyelftools has no name for
        machine = f"EM_{machine}"
    elf_class = elf.elfclass
    endianness = "little" if elf.little_endian else "big"
    interpreter: str | None = None
    needed: list[str] = []
    for seg in elf.iter_segments():
        kind = seg["p_type"]
        if kind == "PT_INTERP":
            interpreter = seg.get_interp_name().rstrip("\x00")
        elif kind == "PT_DYNAMIC":
            for tag in seg.iter_tags():
                if tag.entry.d_tag == "DT_NEEDED":
                    needed.append(tag.needed)
                elif tag.entry.d_tag == "DT_NULL":
                    break
    return ElfInfo(
        machine=machine,
        goarch=goarch_of(machine, elf_class, endianness),
        elf_class=elf_class,
        endianness=endianness,
        static=interpreter is None and not needed,
        interpreter=interpreter,
        needed=tuple(needed),
    )


def describe_parse_error(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text}"[:200] if text else type(e).__name__
