"""Unpack a ``.deb`` into layer entries, the way ``dpkg --unpack`` places
files, without running anything.

A ``.deb`` is an ``ar`` archive whose ``data.tar.{xz,zst,gz}`` member holds
the files (deb(5)); the maintainer scripts live in ``control.tar`` and are
never read here: nothing of the target architecture runs at build time, the
configure steps that matter are done natively (:mod:`.configure`).  Members
become layer entries as :func:`.members.unpack_tar` judges them.
"""

from __future__ import annotations

from pathlib import Path

from ..assemble.layer import FileSpec
from ..fetch.debian import open_data
from .members import MAX_PACKAGE, Unpacked, unpack_tar


def unpack(deb: Path, spool: Path, *, max_size: int = MAX_PACKAGE) -> Unpacked:
    """Every member of ``deb``'s data.tar as a layer entry (files spooled in ``spool``)."""
    with open(deb, "rb") as fh, open_data(fh) as tar:
        return unpack_tar(tar, spool, deb.name, max_size=max_size)


def dpkg_list(files: tuple[FileSpec, ...]) -> str:
    """``var/lib/dpkg/info/<package>.list`` for these entries: ``/.`` then
    every path, absolute, in the package's order (dpkg(1) writes the same)."""
    return "".join(f"/{f.path}\n" for f in files) and "/.\n" + "".join(f"/{f.path}\n" for f in files)
