"""Read one file out of an image's layers, streaming (for the go strategy).

The upstream binary is found the way runc finds ``argv[0]``: an absolute
path as is, a bare name through the image's ``PATH``.  Layers are read from
the top down; the first layer holding a candidate wins (a later layer
overrides an earlier one), and a symlink is followed once more from the top.
Only the wanted member is written to disk, into ``workdir``.
"""

from __future__ import annotations

import io
import posixpath
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Iterator

from ..binaries.buildinfo import BuildInfo, read_buildinfo
from ..errors import ArchportError
from ..oci import Manifest
from ..store import Source
from .gocompile import stripped

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class _ChunkReader(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buf = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def candidates(wanted: str, path_env: str) -> list[str]:
    if "/" in wanted:
        return [posixpath.normpath("/" + wanted.lstrip("/")).lstrip("/")]
    dirs = [d for d in (path_env or DEFAULT_PATH).split(":") if d.startswith("/")]
    return [posixpath.join(d, wanted).lstrip("/") for d in dirs]


def _scan(source: Source, manifest: Manifest, names: list[str], workdir: Path) -> tuple[str, str, Path | None]:
    """(found name, symlink target or "", extracted file)."""
    rank = {n: i for i, n in enumerate(names)}
    for desc in reversed(manifest.layers):
        best: tuple[int, str, str, Path | None] | None = None
        with source.open_blob(desc) as chunks:
            raw = io.BufferedReader(_ChunkReader(iter(chunks)), 1 << 20)
            try:
                with tarfile.open(fileobj=raw, mode="r|*") as tar:
                    for member in tar:
                        name = posixpath.normpath(member.name.lstrip("./").lstrip("/")) if member.name else ""
                        if name not in rank or (best is not None and rank[name] >= best[0]):
                            continue
                        if member.issym():
                            best = (rank[name], name, member.linkname, None)
                        elif member.isfile():
                            fd, tmp = tempfile.mkstemp(prefix="upstream-", dir=workdir)
                            with open(fd, "wb") as out, tar.extractfile(member) as f:
                                shutil.copyfileobj(f, out, 1 << 20)
                            best = (rank[name], name, "", Path(tmp))
                    for _ in iter(lambda: raw.read(1 << 20), b""):
                        pass             # drain: the blob's digest is checked at the end
            except tarfile.TarError as e:
                raise ArchportError(f"layer {desc.digest}: {e}") from None
        if best is not None:
            return best[1], best[2], best[3]
    return "", "", None


def find_binary(source: Source, manifest: Manifest, path_env: str, wanted: str,
                workdir: Path) -> tuple[str, BuildInfo | None, bool]:
    """The binary's absolute path in the image, its Go build info (None:
    not a Go binary) and whether it is stripped (no ``.symtab``).  Raises
    ArchportError when it is not in the image."""
    names = candidates(wanted, path_env)
    for _ in range(8):                       # symlink hops
        name, link, file = _scan(source, manifest, names, Path(workdir))
        if not name:
            raise ArchportError(f"{wanted} is not in the image (looked for {', '.join('/' + n for n in names)})")
        if file is not None:
            try:
                with open(file, "rb") as f:
                    return "/" + name, read_buildinfo(f), stripped(f)
            finally:
                file.unlink(missing_ok=True)
        target = link if link.startswith("/") else posixpath.join(posixpath.dirname("/" + name), link)
        names = [posixpath.normpath(target).lstrip("/")]
    raise ArchportError(f"{wanted}: too many symlinks")
