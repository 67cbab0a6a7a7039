"""Deterministic, streaming layer tarballs.

One pass: tar bytes go through a SHA-256 (the diff_id), into gzip, through a
second SHA-256 (the digest) and into ``out``.  Nothing is buffered whole, so a
50 MB binary costs the time of compressing it (see bench/bench_assemble.py).
What is pinned for reproducibility is listed in :mod:`archport.assemble`.
"""

from __future__ import annotations

import gzip
import io
import os
import posixpath
import tarfile
from dataclasses import dataclass
from typing import BinaryIO, Sequence

from ..errors import BadInput
from ..oci.digest import Digest, HashingWriter

KINDS = ("file", "dir", "symlink", "hardlink")
_DIR_MODE = 0o755            # mode of parent directories nobody named
_COPY_BUFSIZE = 1 << 20


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One entry of a layer.  ``data`` or ``source`` (a host path, streamed)
    gives a regular file's content; ``target`` is a link's target (a
    symlink's verbatim, a hardlink's a path inside the layer).  The default
    mode suits files; see :func:`_mode` for directories and symlinks."""

    path: str
    data: bytes | None = None
    source: str | None = None
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    kind: str = "file"
    target: str = ""


@dataclass(frozen=True, slots=True)
class LayerResult:
    digest: Digest            # sha256 of the compressed blob (manifest ``layers``)
    diff_id: Digest           # sha256 of the tar (config ``rootfs.diff_ids``)
    size: int                 # compressed size in bytes
    tar_size: int             # uncompressed size in bytes


def normalize_path(path: str) -> str:
    """``/usr/bin/x``, ``./usr/bin/x`` -> ``usr/bin/x``; refuses ``..`` and empty."""
    parts = [x for x in path.split("/") if x not in ("", ".")]
    if not parts:
        raise BadInput(f"file path {path!r} names the root")
    if ".." in parts:
        raise BadInput(f"file path {path!r} contains '..'")
    return "/".join(parts)


def plan_entries(files: Sequence[FileSpec]) -> list[FileSpec]:
    """Validated, normalized, sorted entries with implied parent directories.

    Sorted by path, so a directory always precedes its contents; hardlinks
    come last (sorted too), because a hardlink must follow its target in a
    tar stream and a name-sorted order cannot promise that.
    """
    by_path: dict[str, FileSpec] = {}
    for f in files:
        _check(f)
        p = normalize_path(f.path)
        target = normalize_path(f.target) if f.kind == "hardlink" else f.target
        spec = FileSpec(p, f.data, f.source, _mode(f), f.uid, f.gid, f.kind, target)
        if p in by_path and by_path[p] != spec:
            raise BadInput(f"file path {f.path!r} given twice with different contents")
        by_path[p] = spec
    for p in list(by_path):
        parent = posixpath.dirname(p)
        while parent:
            have = by_path.get(parent)
            if have is None:
                by_path[parent] = FileSpec(parent, mode=_DIR_MODE, kind="dir")
            elif have.kind != "dir":
                raise BadInput(f"{p!r} needs {parent!r} to be a directory, but it is a {have.kind}")
            parent = posixpath.dirname(parent)
    for spec in by_path.values():
        if spec.kind == "hardlink":
            tgt = by_path.get(spec.target)
            if tgt is None or tgt.kind != "file":
                raise BadInput(f"hardlink {spec.path!r} must point at a regular file of the layer, not {spec.target!r}")
    plain = sorted((s for s in by_path.values() if s.kind != "hardlink"), key=lambda s: s.path)
    links = sorted((s for s in by_path.values() if s.kind == "hardlink"), key=lambda s: s.path)
    return plain + links


def _mode(f: FileSpec) -> int:
    """Permission bits as stored: a directory left at the default 0o644 gets
    0o755 (a directory without x cannot be entered); symlinks are always
    0o777, as Linux ignores their mode and tar tools write 0777."""
    if f.kind == "symlink":
        return 0o777
    if f.kind == "dir" and f.mode == 0o644:
        return _DIR_MODE
    return f.mode & 0o7777


def _check(f: FileSpec) -> None:
    if f.kind not in KINDS:
        raise BadInput(f"{f.path!r}: unknown kind {f.kind!r} (expected one of {', '.join(KINDS)})")
    has_content = f.data is not None or f.source is not None
    if f.kind == "file":
        if (f.data is None) == (f.source is None):
            raise BadInput(f"{f.path!r}: a file needs exactly one of data or source")
    elif has_content:
        raise BadInput(f"{f.path!r}: a {f.kind} has no content")
    if f.kind in ("symlink", "hardlink") and not f.target:
        raise BadInput(f"{f.path!r}: a {f.kind} needs a target")
    if f.uid < 0 or f.gid < 0:
        raise BadInput(f"{f.path!r}: negative uid/gid")


def build_layer(files: Sequence[FileSpec], out: BinaryIO, *, mtime: int = 0, compresslevel: int = 6) -> LayerResult:
    """Write a gzip-compressed layer tar of ``files`` to ``out``."""
    entries = plan_entries(files)
    compressed = HashingWriter(out)
    # filename="" and mtime=0: the gzip header must not record when or from
    # where it was written (RFC 1952 FNAME/MTIME), or digests drift.
    gz = gzip.GzipFile(filename="", mode="wb", fileobj=compressed, compresslevel=compresslevel, mtime=0)
    tar_sink = HashingWriter(gz)           # type: ignore[arg-type]
    with tarfile.open(fileobj=tar_sink, mode="w|", format=tarfile.PAX_FORMAT, bufsize=_COPY_BUFSIZE) as tar:  # type: ignore[call-overload]
        tar.copybufsize = _COPY_BUFSIZE
        for spec in entries:
            _add(tar, spec, mtime)
    gz.close()
    return LayerResult(
        digest=compressed.digest(),
        diff_id=tar_sink.digest(),
        size=compressed.size,
        tar_size=tar_sink.size,
    )


def _add(tar: tarfile.TarFile, spec: FileSpec, mtime: int) -> None:
    info = tarfile.TarInfo(spec.path)
    info.mtime = mtime
    info.mode = spec.mode
    info.uid, info.gid = spec.uid, spec.gid
    info.uname = info.gname = ""
    if spec.kind == "dir":
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    elif spec.kind == "symlink":
        info.type = tarfile.SYMTYPE
        info.linkname = spec.target
        tar.addfile(info)
    elif spec.kind == "hardlink":
        info.type = tarfile.LNKTYPE
        info.linkname = spec.target
        tar.addfile(info)
    elif spec.data is not None:
        info.size = len(spec.data)
        tar.addfile(info, io.BytesIO(spec.data))
    else:
        assert spec.source is not None
        try:
            with open(spec.source, "rb") as fh:
                info.size = os.fstat(fh.fileno()).st_size
                tar.addfile(info, fh)
        except FileNotFoundError:
            raise BadInput(f"{spec.path!r}: source file {spec.source!r} does not exist") from None
        except IsADirectoryError:
            raise BadInput(f"{spec.path!r}: source {spec.source!r} is a directory") from None
