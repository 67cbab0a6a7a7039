"""Carry an upstream image's other files into a rebuilt one.

A rebuilt binary alone would drop what the upstream image holds beside it —
coredns's ``/etc/ssl/certs``, distroless's ``/etc/passwd`` — and the image
would no longer keep the "same file paths" part of its contract.
Everything of the reference platform's merged filesystem is carried except
the rebuilt binary and other ELF files, which are for the wrong machine and
are named in the result instead.  Layers are streamed and judged by
:mod:`archport.imagefs` (compression, whiteouts, names); regular files are
spooled under the work directory, never unpacked as a tree.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..assemble.layer import FileSpec
from ..binaries.elf import is_elf
from ..imagefs import entries, parse_name
from ..imagefs.paths import DELETE, EMPTY
from ..oci import Manifest
from ..store import Source


def carry(source: Source, m: Manifest, workdir: Path, skip: str,
          origins: dict[str, str] | None = None) -> tuple[list[FileSpec], list[str]]:
    """(files to put beside the new binary, ELF paths left behind); ``origins``,
    when given, gets each carried regular file's upstream layer digest by path."""
    spool = Path(tempfile.mkdtemp(prefix="carry-", dir=workdir))
    files: dict[str, tuple[int, FileSpec]] = {}   # path -> (layer index, spec)
    elf: dict[str, int] = {}
    n = 0
    for i, desc in enumerate(m.layers):
        with source.open_blob(desc) as chunks:
            for tar, t in entries(chunks):
                name = parse_name(t.name)
                if not name.comps or name.refused:
                    continue
                path = name.path
                if name.kind == EMPTY:
                    for p in [p for p, (li, _) in files.items() if p.startswith(path.rstrip("/") + "/") and li < i]:
                        del files[p]
                    continue
                if name.kind == DELETE:
                    for p in [p for p in files if p == path or p.startswith(path + "/")]:
                        del files[p]
                    elf.pop(path, None)
                    continue
                meta = dict(mode=t.mode & 0o7777, uid=t.uid, gid=t.gid)
                if t.isdir():
                    files[path] = (i, FileSpec(path, kind="dir", **meta))
                elif t.issym():
                    files[path] = (i, FileSpec(path, kind="symlink", target=t.linkname, **meta))
                elif t.islnk():
                    target = parse_name(t.linkname).path
                    if target in files and files[target][1].kind == "file":
                        files[path] = (i, FileSpec(path, source=files[target][1].source, **meta))
                elif t.isreg():
                    data = tar.extractfile(t)
                    head = data.read(4) if data else b""
                    if is_elf(head):
                        files.pop(path, None)
                        elf[path] = i
                        continue
                    n += 1
                    dst = spool / f"f{n}"
                    with open(dst, "wb") as out:
                        out.write(head)
                        while data and (chunk := data.read(1 << 20)):
                            out.write(chunk)
                    files[path] = (i, FileSpec(path, source=str(dst), **meta))
                    elf.pop(path, None)
    kept = [spec for p, (_, spec) in sorted(files.items()) if p != skip]
    if origins is not None:
        origins.update({p: str(m.layers[i].digest) for p, (i, spec) in files.items()
                        if p != skip and spec.kind == "file"})
    return kept, sorted(p for p in elf if p != skip)
