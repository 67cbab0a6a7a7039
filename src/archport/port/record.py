"""The build record of one ported platform image: what the strategy reported,
completed with what the image itself shows (its files and their digests, the
Go build info of its binaries) and what the port knows (the upstream image by
digest, the target, the ISA profile, the catalog entry).

Only the image's own new layers are read (the base image's layers are named
by the base image's digest): every regular file with its SHA-256 and SHA-1,
and every Go binary's module list as its build info states it.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile
from dataclasses import replace

from .. import __version__
from ..attest.model import BuildRecord, GoBinary, GoModule, ImageFile
from ..binaries.buildinfo import MAGIC, BuildInfo, read_buildinfo
from ..binaries.elf import is_elf
from ..imagefs.compression import Stream, inflate
from ..platform import Platform, normalize
from ..strategies import Outcome, Upstream

#: Go binaries larger than this are not read into memory for their build info.
_MAX_BINARY = 512 * 1024 * 1024


def build_record(up: Upstream, outcome: Outcome, target: Platform, profile: str = "") -> BuildRecord:
    """The record of ``outcome`` (a built or mirrored platform image of ``up``)."""
    target = normalize(target)
    part: BuildRecord = outcome.record if outcome.record is not None else BuildRecord(outcome.strategy, "", "")
    m = part.materials
    created = part.created
    if outcome.built is not None:
        files, binaries = scan_layers(outcome.built.layers)
        base = m.base
        if not base and outcome.built.base is not None:
            base = f"base@{outcome.built.base.manifest.digest}"
        files = _merge_files(m.files, files)
        digests = {f.path: f.digest for f in files}
        carried = tuple(replace(c, digest=c.digest or digests.get(c.path, "")) for c in m.carried)
        m = replace(m, files=files, go_binaries=_merge_binaries(m.go_binaries, binaries), base=base,
                    carried=tuple(c for c in carried if c.digest))
        created = created or _created(outcome.built.config)
    builder = part.builder
    if not builder.archport:
        builder = replace(builder, archport=__version__)
    comp = up.component
    return replace(part, strategy=outcome.strategy, upstream=f"{up.ref.domain}/{up.ref.path}@{up.top.digest}",
                   upstream_tag=up.ref.tag or "", platform=str(target),
                   isa_profile=profile if target.architecture == "riscv64" else "",
                   catalog_entry=part.catalog_entry or (getattr(comp, "name", "") if comp is not None else ""),
                   created=created, materials=m, builder=builder)


def scan_layers(layers) -> tuple[tuple[ImageFile, ...], tuple[GoBinary, ...]]:
    """Regular files of ``layers`` (``assemble.image.Blob``s, applied in
    order: a later layer's file replaces an earlier one's) and their Go binaries."""
    files: dict[str, ImageFile] = {}
    binaries: dict[str, GoBinary] = {}
    for blob in layers:
        with blob.opener()() as chunks:
            stream = Stream.of(inflate(chunks))
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    path = _path(member.name)
                    if member.islnk() and _path(member.linkname) in files:
                        # a hard link: the same content under another name
                        files[path] = replace(files[_path(member.linkname)], path=path)
                        if _path(member.linkname) in binaries:
                            binaries[path] = replace(binaries[_path(member.linkname)], path=path)
                        continue
                    if not member.isfile():
                        files.pop(path, None)
                        binaries.pop(path, None)
                        continue
                    fh = tar.extractfile(member)
                    assert fh is not None
                    sha256, sha1 = hashlib.sha256(), hashlib.sha1()
                    head = b""
                    keep = bytearray() if member.size <= _MAX_BINARY else None
                    while block := fh.read(1 << 20):
                        sha256.update(block)
                        sha1.update(block)
                        if not head:
                            head = block[:64]
                        if keep is not None and is_elf(head):
                            keep += block
                    files[path] = ImageFile(path, f"sha256:{sha256.hexdigest()}", sha1.hexdigest())
                    binaries.pop(path, None)
                    # Only a Go binary holds the build info header: the rest skip the ELF parse.
                    info = read_buildinfo(bytes(keep)) if keep and is_elf(head) and MAGIC in keep else None
                    if info is not None and info.main.path:
                        binaries[path] = go_binary(path, info)
    return tuple(files[p] for p in sorted(files)), tuple(binaries[p] for p in sorted(binaries))


def _path(name: str) -> str:
    return posixpath.normpath("/" + name.removeprefix("./"))


def go_binary(path: str, info: BuildInfo) -> GoBinary:
    """A binary's modules as its build info names them (a replaced module:
    the replacement's version and sum are what was linked)."""
    deps = []
    for d in info.deps:
        if d.replace is not None:
            deps.append(GoModule(d.path, d.version, d.replace.sum or d.sum,
                                 replaced_by=f"{d.replace.path}@{d.replace.version}"))
        else:
            deps.append(GoModule(d.path, d.version, d.sum))
    return GoBinary(path, GoModule(info.main.path, info.main.version, info.main.sum), tuple(deps), info.go_version)


def _merge_files(reported, scanned):
    by = {f.path: f for f in reported}
    by.update({f.path: f for f in scanned})
    return tuple(by[p] for p in sorted(by))


def _merge_binaries(reported, scanned):
    """The scan is the authority for modules; a strategy's report adds what
    the build info cannot say (which fixup set a version)."""
    fixups = {(m.path, m.version): m.fixup for b in reported for m in b.deps if m.fixup}
    by = {b.path: b for b in reported}
    for b in scanned:
        by[b.path] = replace(b, deps=tuple(replace(d, fixup=fixups.get((d.path, d.version), ""))
                                           for d in b.deps))
    return tuple(by[p] for p in sorted(by))


def _created(config: bytes) -> str:
    try:
        value = json.loads(config).get("created", "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""
