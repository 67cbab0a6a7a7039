"""Carry an upstream image's other files into a rebuilt one.

A rebuilt binary alone would drop what the upstream image holds beside it —
coredns's ``/etc/ssl/certs``, distroless's ``/etc/passwd`` — and the image
would no longer keep the "same file paths" part of its contract (DESIGN.md).
Everything of the reference platform's merged filesystem is carried except
the rebuilt binary and other ELF files, which are for the wrong machine and
are named in the result instead.  Layers are streamed; regular files are
spooled under the work directory, never unpacked as a tree.
"""

from __future__ import annotations

import posixpath
import tarfile
import tempfile
from pathlib import Path

from ..build.layer import FileSpec
from ..oci import Manifest
from ..smoke.rootfs import open_layer
from ..store import Source

_WH, _OPQ = ".wh.", ".wh..wh..opq"


def _norm(name: str) -> str | None:
    p = posixpath.normpath("/" + name.lstrip("./").lstrip("/"))
    return None if p == "/" or ".." in p.split("/") else p


def carry(source: Source, m: Manifest, workdir: Path, skip: str) -> tuple[list[FileSpec], list[str]]:
    """(files to put beside the new binary, ELF paths left behind)."""
    spool = Path(tempfile.mkdtemp(prefix="carry-", dir=workdir))
    entries: dict[str, tuple[int, FileSpec]] = {}   # path -> (layer index, spec)
    elf: dict[str, int] = {}
    n = 0
    for i, desc in enumerate(m.layers):
        blob = spool / f"layer{i}"
        with source.open_blob(desc) as chunks, open(blob, "wb") as out:
            for c in chunks:
                out.write(c)
        with open(blob, "rb") as f, tarfile.open(fileobj=open_layer(f), mode="r|") as tar:
            for t in tar:
                path = _norm(t.name)
                if path is None:
                    continue
                parent, base = posixpath.split(path)
                if base == _OPQ:
                    for p in [p for p, (li, _) in entries.items() if p.startswith(parent.rstrip("/") + "/") and li < i]:
                        del entries[p]
                    continue
                if base.startswith(_WH):
                    gone = posixpath.join(parent, base[len(_WH):])
                    for p in [p for p in entries if p == gone or p.startswith(gone + "/")]:
                        del entries[p]
                    elf.pop(gone, None)
                    continue
                meta = dict(mode=t.mode & 0o7777, uid=t.uid, gid=t.gid)
                if t.isdir():
                    entries[path] = (i, FileSpec(path, kind="dir", **meta))
                elif t.issym():
                    entries[path] = (i, FileSpec(path, kind="symlink", target=t.linkname, **meta))
                elif t.islnk():
                    target = _norm(t.linkname)
                    if target in entries and entries[target][1].kind == "file":
                        entries[path] = (i, FileSpec(path, source=entries[target][1].source, **meta))
                elif t.isreg():
                    data = tar.extractfile(t)
                    head = data.read(4) if data else b""
                    if head == b"\x7fELF":
                        entries.pop(path, None)
                        elf[path] = i
                        continue
                    n += 1
                    dst = spool / f"f{n}"
                    with open(dst, "wb") as out:
                        out.write(head)
                        while data and (chunk := data.read(1 << 20)):
                            out.write(chunk)
                    entries[path] = (i, FileSpec(path, source=str(dst), **meta))
                    elf.pop(path, None)
        blob.unlink()
    files = [spec for p, (_, spec) in sorted(entries.items()) if p != skip]
    return files, sorted(p for p in elf if p != skip)
