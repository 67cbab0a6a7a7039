"""List a platform's ELF binaries with their ELF, Go build-info and RISC-V
ISA facts (``archport inspect --files``, doctor's Sv57 check).  Layers stream
through the merged view (:mod:`archport.imagefs`); nothing is extracted to the
host.  It lives above :mod:`archport.binaries` and :mod:`archport.imagefs`
because it walks an image with both."""

from __future__ import annotations

from ..binaries.buildinfo import read_buildinfo
from ..binaries.elf import read_elf
from ..errors import BadInput
from ..imagefs import FILE, RootFS, apply_layer
from ..oci import Manifest
from ..store import Source
from .isa import requirement


def _facts(fs: RootFS, path: str, node) -> dict | None:
    stream = fs.open(node)
    if stream is None:
        return None
    entry: dict = {"path": path, "size": node.size, "mode": oct(node.mode & 0o7777)}
    try:
        elf = read_elf(stream)
    except BadInput as e:
        return {**entry, "error": str(e)}
    if elf is None:
        return None
    entry.update(arch=elf.goarch or elf.machine, static=elf.static,
                 interpreter=elf.interpreter, needed=list(elf.needed))
    stream.seek(0)
    try:
        bi = read_buildinfo(stream)
    except BadInput as e:
        entry["goError"] = str(e)
        bi = None
    if bi is not None:
        entry["go"] = {
            "version": bi.go_version, "path": bi.path, "module": bi.main.path, "moduleVersion": bi.main.version,
            "ldflags": bi.ldflags, "tags": list(bi.tags), "cgo": bi.cgo_enabled, "goarch": bi.goarch,
            "trimpath": bi.trimpath, "deps": len(bi.deps),
        }
    if elf.goarch == "riscv64":
        stream.seek(0)
        try:
            req = requirement(path, stream)
        except BadInput as e:
            entry["isaError"] = str(e)
            req = None
        if req is not None:
            entry["isa"] = req.to_dict()
    summary = [entry["arch"], "static" if elf.static else f"dynamic ({elf.interpreter or 'no interpreter'})"]
    if "isa" in entry:
        summary.append(f"needs {(entry['isa']['profile'] or 'more than RVA23U64').upper()}")
    if bi is not None:
        summary.append(f"{bi.go_version} {bi.main.path}@{bi.main.version}")
        if bi.ldflags:
            summary.append(f"ldflags={bi.ldflags!r}")
    entry["summary"] = ", ".join(summary)
    return entry


def list_binaries(source: Source, m: Manifest) -> list[dict]:
    fs = RootFS()
    try:
        for i, desc in enumerate(m.layers):
            with source.open_blob(desc) as chunks:
                apply_layer(fs, i, chunks, f"layer {i + 1} ({desc.digest})")
        out = []
        for path, node in sorted(fs.walk()):
            if node.kind == FILE:
                facts = _facts(fs, path, node)
                if facts is not None:
                    out.append(facts)
        return out
    finally:
        fs.close()
