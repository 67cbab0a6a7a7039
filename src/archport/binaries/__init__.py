"""Binaries: what an executable file is, read from its bytes.

Two readers, both pure over a seekable stream, both turning every way a
broken or hostile file can make them fail into one :class:`~archport.errors.BadInput`:

- :mod:`.elf` — what an ELF is built for (machine, class, byte order) and how
  it links (PT_INTERP, DT_NEEDED), through pyelftools, with the one table from
  ``e_machine`` to GOARCH;
- :mod:`.buildinfo` — the build information the Go linker embeds (module path
  and version, deps, ``-ldflags``, tags, CGO, GOARCH), which the *go* strategy
  uses to rebuild the same program for another architecture and doctor uses
  to spot Go versions a kernel cannot run.

:mod:`.listing` walks an image's merged filesystem (:mod:`archport.imagefs`)
and lists its ELF files with these facts (``inspect --files``).
"""

from .buildinfo import BuildInfo, Module, read_buildinfo
from .elf import ElfInfo, Header, goarch_of, identify, is_elf, read_elf

__all__ = ["BuildInfo", "Module", "read_buildinfo", "ElfInfo", "Header", "goarch_of", "identify", "is_elf", "read_elf"]
