"""Unpack a ``.deb`` into layer entries, the way ``dpkg --unpack`` places
files, without running anything.

A ``.deb`` is an ``ar`` archive whose ``data.tar.{xz,zst,gz}`` member holds
the files (deb(5)); the maintainer scripts live in ``control.tar`` and are
never read here: nothing of the target architecture runs at build time, the
configure steps that matter are done natively (:mod:`.configure`).

Each member becomes a :class:`~archport.build.layer.FileSpec` with its mode,
owner and link target kept.  Regular files are spooled under a work
directory (never a tree: the layer builder reads them back).  Names are
judged like any layer's (:func:`archport.imagefs.parse_name`): a member that
climbs out of the root, is absolute, or looks like a whiteout is refused and
reported; device nodes and FIFOs are skipped and reported.  ``max_size``
bounds what one package may write.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..build.layer import FileSpec
from ..fetch.debian import open_data
from ..imagefs import TooLarge, parse_name
from ..imagefs.paths import ENTRY

MAX_PACKAGE = 1 << 30          # 1 GiB unpacked per package: far above any package a transplant takes


@dataclass(frozen=True, slots=True)
class Unpacked:
    files: tuple[FileSpec, ...]        # paths without a leading slash
    refused: tuple[str, ...]           # member names not unpacked, with why


def unpack(deb: Path, spool: Path, *, max_size: int = MAX_PACKAGE) -> Unpacked:
    """Every member of ``deb``'s data.tar as a layer entry (files spooled in ``spool``)."""
    spool.mkdir(parents=True, exist_ok=True)
    files: dict[str, FileSpec] = {}
    refused: list[str] = []
    written = 0
    n = 0
    with open(deb, "rb") as fh, open_data(fh) as tar:
        for m in tar:
            name = parse_name(m.name)
            if not name.comps:
                continue                                  # "./", the root itself
            if name.kind != ENTRY or name.dotdot or name.absolute or name.refused:
                refused.append(f"{m.name!r}: escapes the root or is a whiteout")
                continue
            path = "/".join(name.comps)
            meta = dict(mode=m.mode & 0o7777, uid=m.uid, gid=m.gid)
            if m.isdir():
                files[path] = FileSpec(path, kind="dir", **meta)
            elif m.issym():
                files[path] = FileSpec(path, kind="symlink", target=m.linkname, **meta)
            elif m.islnk():
                target = parse_name(m.linkname)
                tpath = "/".join(target.comps)
                if target.dotdot or target.absolute or tpath not in files or files[tpath].kind != "file":
                    refused.append(f"{m.name!r}: hard link to {m.linkname!r}, not an earlier file")
                    continue
                files[path] = FileSpec(path, source=files[tpath].source, **meta)
            elif m.isreg():
                written += m.size
                if written > max_size:
                    raise TooLarge(f"{deb.name} unpacks to more than {max_size} bytes", max_size)
                n += 1
                dst = spool / f"{n}"
                src = tar.extractfile(m)
                with open(dst, "wb") as out:
                    while src is not None and (chunk := src.read(1 << 20)):
                        out.write(chunk)
                files[path] = FileSpec(path, source=str(dst), **meta)
            else:
                refused.append(f"{m.name!r}: device node or FIFO")
    return Unpacked(tuple(files.values()), tuple(refused))


def dpkg_list(files: tuple[FileSpec, ...]) -> str:
    """``var/lib/dpkg/info/<package>.list`` for these entries: ``/.`` then
    every path, absolute, in the package's order (dpkg(1) writes the same)."""
    return "".join(f"/{f.path}\n" for f in files) and "/.\n" + "".join(f"/{f.path}\n" for f in files)
