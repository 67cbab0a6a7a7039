"""A package's data tar as layer entries, the way a package manager places
files, without running anything.

Shared by the ``.deb`` (:mod:`.debs`) and ``.apk`` (:mod:`.apkfiles`)
readers.  Each member becomes a :class:`~archport.assemble.layer.FileSpec` with
its mode, owner and link target kept.  Regular files are spooled under a work
directory (never a tree: the layer builder reads them back).  Names are
judged like any layer's (:func:`archport.imagefs.parse_name`): a member that
climbs out of the root, is absolute, or looks like a whiteout is refused and
reported; device nodes and FIFOs are skipped and reported.  ``max_size``
bounds what one package may write.
"""

from __future__ import annotations

import hashlib
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..assemble.layer import FileSpec
from ..errors import ArchportError
from ..imagefs import TooLarge, parse_name
from ..imagefs.paths import ENTRY

MAX_PACKAGE = 1 << 30          # 1 GiB unpacked per package: far above any package a transplant takes


class ChecksumMismatch(ArchportError):
    """A member's content is not what its package says."""


@dataclass(frozen=True, slots=True)
class Unpacked:
    files: tuple[FileSpec, ...]        # paths without a leading slash
    refused: tuple[str, ...]           # member names not unpacked, with why
    sha1: tuple[tuple[str, str], ...] = ()   # (path, SHA-1 hex) of each regular file


def unpack_tar(tar: tarfile.TarFile, spool: Path, what: str, *, max_size: int = MAX_PACKAGE,
               expected_sha1: Callable[[tarfile.TarInfo], str | None] = lambda _m: None) -> Unpacked:
    """Every member of ``tar`` as a layer entry (files spooled in ``spool``).
    ``expected_sha1`` gives the SHA-1 a member must have, when its package
    says (apk's PAX header); a mismatch raises :class:`ChecksumMismatch`."""
    spool.mkdir(parents=True, exist_ok=True)
    files: dict[str, FileSpec] = {}
    refused: list[str] = []
    sums: list[tuple[str, str]] = []
    written = 0
    n = 0
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
                raise TooLarge(f"{what} unpacks to more than {max_size} bytes", max_size)
            n += 1
            dst = spool / f"{n}"
            src = tar.extractfile(m)
            h = hashlib.sha1()
            with open(dst, "wb") as out:
                while src is not None and (chunk := src.read(1 << 20)):
                    h.update(chunk)
                    out.write(chunk)
            want = expected_sha1(m)
            if want is not None and want.lower() != h.hexdigest():
                raise ChecksumMismatch(f"{what}: /{path}: checksum mismatch (SHA-1 {h.hexdigest()}, the package "
                                       f"says {want})")
            sums.append((path, h.hexdigest()))
            files[path] = FileSpec(path, source=str(dst), **meta)
        else:
            refused.append(f"{m.name!r}: device node or FIFO")
    return Unpacked(tuple(files.values()), tuple(refused), tuple(sums))
