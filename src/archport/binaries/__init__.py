"""Binaries: what an executable file is, read from its bytes.

Three readers, all pure over a seekable stream, each turning every way a
broken or hostile file can make them fail into one :class:`~archport.errors.BadInput`:

- :mod:`.elf` — what an ELF is built for (machine, class, byte order) and how
  it links (PT_INTERP, DT_NEEDED), through pyelftools, with the one table from
  ``e_machine`` to GOARCH;
- :mod:`.buildinfo` — the build information the Go linker embeds (module path
  and version, deps, ``-ldflags``, tags, CGO, GOARCH), which the *go* strategy
  uses to rebuild the same program for another architecture and doctor uses
  to spot Go versions a kernel cannot run;
- :mod:`.riscv` — what a RISC-V ELF says it needs: ``Tag_RISCV_arch`` from
  its ``.riscv.attributes`` and the compiler from ``.comment``; and the ISA
  string grammar that ``/proc/cpuinfo`` shares.

Walking an image's files with these readers is :mod:`archport.check` (the
contract, the ISA requirements, and ``inspect --files``'s listing).
"""

from .buildinfo import BuildInfo, Module, read_buildinfo
from .elf import ElfInfo, Header, goarch_of, identify, is_elf, read_elf

__all__ = ["BuildInfo", "Module", "read_buildinfo", "ElfInfo", "Header", "goarch_of", "identify", "is_elf", "read_elf"]
