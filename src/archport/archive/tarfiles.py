"""Tar plumbing shared by the archive formats: reading members without
extracting, safe extraction of compressed tars, deterministic writing."""

from __future__ import annotations

import gzip
import os
import posixpath
import shutil
import tarfile
import tempfile
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator


from .. import temps
from .. import zstd
from ..errors import BadInput
from ..layout import CHUNK, DirFiles
from ..oci.digest import HashingWriter

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: Compressed archives are extracted under the system's temporary directory
#: into ``archport-extract.tmp-<pid>-<random>`` (see :mod:`archport.temps`).
EXTRACT_STEM = "archport-extract"
# k3s decodes .tar.zst airgap images with a 32 MiB window limit; 2**23 (8 MiB)
# stays well inside it whatever the level.  Verified by tests/airgap.
ZSTD_WINDOW_LOG = 23


def sniff(head: bytes) -> str | None:
    """Compression named by magic bytes: ``"gzip"``, ``"zstd"`` or ``None``."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


def detect(path: Path) -> str | None:
    with open(path, "rb") as f:
        return sniff(f.read(4))


def clean_name(name: str) -> str | None:
    """A member name relative to the archive root, or None if it escapes it."""
    n = posixpath.normpath(name.lstrip("/") or ".")
    if n == "." or n == ".." or n.startswith("../"):
        return None
    return n


class SeekableTar:
    """Members of an uncompressed tar, read by seeking to their data: the
    headers are indexed once, nothing is extracted."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self._members: dict[str, tuple[int, int]] = {}
        links: dict[str, str] = {}
        try:
            with tarfile.open(path, "r:") as tar:
                for ti in tar:
                    name = clean_name(ti.name)
                    if name is None:
                        continue
                    if ti.isreg():
                        self._members[name] = (ti.offset_data, ti.size)
                    elif ti.issym():
                        links[name] = posixpath.normpath(posixpath.join(posixpath.dirname(name), ti.linkname))
                    elif ti.islnk():
                        links[name] = clean_name(ti.linkname) or ""
        except tarfile.TarError as e:
            raise BadInput(f"{path}: not a readable tar archive: {e}") from None
        # docker save links duplicate layers to one copy (symlink or hard link).
        for name, target in links.items():
            for _ in range(16):
                if target in self._members or target not in links:
                    break
                target = links[target]
            if target in self._members:
                self._members[name] = self._members[target]

    def names(self) -> list[str]:
        return sorted(self._members)

    def size(self, rel: str) -> int | None:
        m = self._members.get(rel)
        return None if m is None else m[1]

    def read(self, rel: str, limit: int) -> bytes:
        off, size = self._members[rel]
        if size > limit:
            raise BadInput(f"{self.where}: {rel} is larger than {limit} bytes")
        with open(self.path, "rb") as f:
            f.seek(off)
            return f.read(size)

    def chunks(self, rel: str) -> Iterator[bytes]:
        off, left = self._members[rel]
        with open(self.path, "rb") as f:
            f.seek(off)
            while left:
                chunk = f.read(min(CHUNK, left))
                if not chunk:
                    raise BadInput(f"{self.where}: {rel} is truncated")
                left -= len(chunk)
                yield chunk


class ExtractedTar(DirFiles):
    """A compressed tar, extracted once into a temporary directory (a
    compressed stream cannot be seeked).  Removed by :meth:`close` or when
    garbage-collected."""

    def __init__(self, path: Path, compression: str) -> None:
        parent = Path(tempfile.gettempdir())
        temps.reclaim(parent, EXTRACT_STEM)   # what killed runs left behind
        root = parent / temps.name(EXTRACT_STEM)
        root.mkdir(mode=0o700)
        self._cleanup = weakref.finalize(self, shutil.rmtree, root, ignore_errors=True)
        super().__init__(root)
        self.where = str(path)
        try:
            with open(path, "rb") as raw, _decompressed(raw, compression) as stream:
                extract(stream, self.root)
        except (tarfile.TarError, OSError, EOFError, *zstd.errors()) as e:
            self.close()
            raise BadInput(f"{path}: not a readable {compression} tar archive: {e}") from None

    def names(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())

    def close(self) -> None:
        self._cleanup()


@contextmanager
def _decompressed(raw: BinaryIO, compression: str) -> Iterator[BinaryIO]:
    if compression == "gzip":
        with gzip.GzipFile(fileobj=raw, mode="rb") as g:
            yield g
    else:
        with zstd.module().ZstdDecompressor().stream_reader(raw) as z:
            yield z


def extract(stream: BinaryIO, dest: Path) -> None:
    """Extract regular files and links of a tar stream under ``dest``, refusing
    anything that would land outside it.  Links become copies."""
    links: list[tuple[str, str]] = []
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for ti in tar:
            name = clean_name(ti.name)
            if name is None:
                continue
            target = dest / name
            if ti.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif ti.isreg():
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(ti)
                assert src is not None
                with open(target, "wb") as f:
                    shutil.copyfileobj(src, f, CHUNK)
            elif ti.issym():
                links.append((name, posixpath.normpath(posixpath.join(posixpath.dirname(name), ti.linkname))))
            elif ti.islnk():
                links.append((name, clean_name(ti.linkname) or ""))
    for name, to in links:
        if to and clean_name(to) == to and (dest / to).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dest / to, dest / name)


def open_members(path: str | os.PathLike) -> SeekableTar | ExtractedTar:
    p = Path(path)
    if not p.is_file():
        raise BadInput(f"{p}: no such archive file")
    kind = detect(p)
    return SeekableTar(p) if kind is None else ExtractedTar(p, kind)


@contextmanager
def compressor(out, compression: str | None, level: int | None = None) -> Iterator:
    """Wrap ``out`` so that what is written is compressed (or not)."""
    if compression is None:
        yield out
    elif compression == "gzip":
        # mtime=0: the same input gives the same bytes.
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6 if level is None else level, mtime=0) as g:
            yield g
    elif compression == "zstd":
        zs = zstd.module()
        params = zs.ZstdCompressionParameters.from_level(3 if level is None else level, window_log=ZSTD_WINDOW_LOG)
        z = zs.ZstdCompressor(compression_params=params).stream_writer(out, closefd=False)
        yield z
        z.close()
    else:
        raise ValueError(compression)


def write_tree(out, root: Path, first: tuple[str, ...] = ()) -> None:
    """Write the files under ``root`` as a deterministic tar stream into
    ``out`` (names sorted after ``first``; owner root, mtime 0)."""
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    order = [f for f in first if f in files] + [f for f in files if f not in first]
    dirs_done: set[str] = set()
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for rel in order:
            parts = rel.split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in dirs_done:
                    dirs_done.add(d)
                    tar.addfile(_info(d, tarfile.DIRTYPE, 0o755, 0))
            size = (root / rel).stat().st_size
            with open(root / rel, "rb") as f:
                tar.addfile(_info(rel, tarfile.REGTYPE, 0o644, size), f)


def _info(name: str, kind: bytes, mode: int, size: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.size, ti.mtime = kind, mode, size, 0
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def write_tar_file(tmp: Path, root: Path, first: tuple[str, ...] = (), compression: str | None = None,
                   level: int | None = None) -> str:
    """Tar ``root`` into the temporary file ``tmp`` (synced; removed on
    failure); return the sha256 hex of the bytes written.  The caller renames
    it into place."""
    try:
        with open(tmp, "wb") as f:
            hw = HashingWriter(f)
            with compressor(hw, compression, level) as c:
                write_tree(c, root, first)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return hw.hash.hexdigest()


def tmp_name(path: Path) -> Path:
    """A fresh temporary sibling of ``path`` that names this process."""
    return path.with_name(temps.name(path.name))
