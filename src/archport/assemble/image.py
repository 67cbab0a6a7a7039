"""Assemble an image for a target platform: base layers + one new layer, a
config derived from the upstream image's, and a manifest with provenance.

:func:`assemble` is pure apart from writing the new layer blob (into
``workdir`` when given, else kept in memory); it returns a :class:`Built`
value.  :meth:`Built.source` reads it like any other image (so ``port`` copies
it straight to its destination), and :meth:`Built.write` stores it in any
:class:`~archport.store.Sink` through :mod:`archport.write`.
"""

from __future__ import annotations

import io
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterator, Mapping, Sequence

from .. import temps
from ..errors import BadInput
from ..oci import Descriptor, Digest, ImageConfig, Manifest, mediatypes as mt
from ..oci.digest import verified
from ..oci.edit import LAYER_TO_DOCKER, LAYER_TO_OCI
from ..platform import Platform, normalize
from ..store import BlobOpener, Sink, Source
from ..write import Part, write
from ..binaries.elf import read_elf
from .layer import FileSpec, LayerResult, build_layer, normalize_path

#: Kept from the upstream image's config: what the k3s manifests rely on
#: (ENTRYPOINT /coredns, PATH for local-path-provisioner, …).  Issue 3, part 1.
CONTRACT_KEYS = ("Entrypoint", "Cmd", "Env", "User", "WorkingDir", "ExposedPorts",
                 "Volumes", "Labels", "StopSignal")

# Fields of a Docker config that describe how the *base* was built, not us.
_BASE_ONLY = ("container", "container_config", "docker_version", "id", "parent", "os.version", "os.features")

ANN_SOURCE = "org.opencontainers.image.source"
ANN_VERSION = "org.opencontainers.image.version"
ANN_REVISION = "org.opencontainers.image.revision"
ANN_BASE_DIGEST = "org.opencontainers.image.base.digest"
ANN_STRATEGY = "io.archport.strategy"
ANN_CHANGES = "io.archport.changes"

# Layer media types across families; the bytes are the same, only the label differs.
_TO_OCI, _TO_DOCKER = LAYER_TO_OCI, LAYER_TO_DOCKER     # one table, shared with ``index add``


@dataclass(frozen=True, slots=True)
class History:
    """The new image's history entry: when (the SOURCE_DATE_EPOCH the caller
    chose, also every tar mtime), by what, and why."""

    created: int = 0
    comment: str = ""
    created_by: str = "archport"


@dataclass(frozen=True, slots=True)
class Base:
    """The image to build on (``None`` instead of a Base means scratch).
    ``source`` is where its layers are read from when :meth:`Built.write`
    finds them missing in the sink."""

    manifest: Manifest
    config: ImageConfig
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Blob:
    """A blob we produced: in memory (``data``) or in a file (``path``)."""

    descriptor: Descriptor
    data: bytes | None = None
    path: str | None = None

    def opener(self) -> BlobOpener:
        @contextmanager
        def open_() -> Iterator[Iterator[bytes]]:
            if self.data is not None:
                yield iter((self.data,))
            else:
                assert self.path is not None
                with open(self.path, "rb") as fh:
                    yield iter(lambda: fh.read(1 << 20), b"")
        return open_


@dataclass(frozen=True, slots=True)
class Built:
    """An assembled image: its manifest, config bytes and platform, the new
    layer blobs, and the base whose layers it reuses."""

    manifest: Manifest
    config: bytes
    platform: Platform
    layers: tuple[Blob, ...]          # the new layer blobs (zero or one today)
    base: Base | None = None

    def descriptor(self) -> Descriptor:
        """The manifest's descriptor with its platform, for an index entry."""
        return self.manifest.descriptor(self.platform)

    def source(self) -> "BuiltSource":
        """This image as a :class:`~archport.store.Source`: what ``copy``,
        ``check`` and ``smoke`` read, with no temporary layout in between."""
        return BuiltSource(self)

    def write(self, sink: Sink, tag: str | None = None, *, workers: int = 1) -> list[tuple[Descriptor, str]]:
        """Store everything in ``sink`` in the safe order (:mod:`archport.write`):
        base layers it lacks, new layers, config, manifest, then ``tag`` (none:
        untagged).  Does not call ``sink.commit()``: the caller may add an
        index first.  Returns ``(descriptor, status)`` per blob."""
        done: list[tuple[Descriptor, str]] = []

        class _Statuses:
            def planned(self, image: str, blobs: int, total_bytes: int) -> None: pass
            def advance(self, nbytes: int) -> None: pass
            def blob_done(self, desc: Descriptor, status: str) -> None: done.append((desc, status))

        write(sink, self.manifest, [Part(self.source(), (self.manifest,))], name=tag, tag=tag is not None,
              workers=workers, reporter=_Statuses())
        return done


class BuiltSource:
    """A :class:`Built` image as a :class:`~archport.store.Source`: new layers
    from memory or the workdir, the config from its bytes, the base's layers
    from ``base.source``; every stream is verified against its digest."""

    def __init__(self, built: Built) -> None:
        self.built = built
        self.name = f"built {built.platform} image {built.manifest.digest}"

    def resolve(self) -> Manifest:
        return self.built.manifest

    def manifest(self, desc: Descriptor) -> Manifest:
        if desc.digest != self.built.manifest.digest:
            raise BadInput(f"{self.name}: no manifest {desc.digest}")
        return self.built.manifest

    @contextmanager
    def open_blob(self, desc: Descriptor) -> Iterator[Iterator[bytes]]:
        b = self.built
        ours = next((x for x in b.layers if x.descriptor.digest == desc.digest), None)
        if desc.digest == b.manifest.config.digest:
            opener = Blob(b.manifest.config, data=b.config).opener()
        elif ours is not None:
            opener = ours.opener()
        else:
            orig = next((d for d in b.base.manifest.layers if d.digest == desc.digest), None) if b.base else None
            if orig is None:
                raise BadInput(f"{self.name}: no blob {desc.digest}")
            if b.base is None or b.base.source is None:
                raise BadInput(f"base layer {desc.digest} is needed and no base source was given")
            with b.base.source.open_blob(orig) as chunks:   # verified by the base's source
                yield chunks
            return
        with opener() as chunks:
            yield verified(chunks, desc.digest, desc.size, what=f"blob in {self.name}")


def provenance(*, source: str = "", version: str = "", revision: str = "", strategy: str = "",
               changes: Sequence[str] = ()) -> dict[str, str]:
    """The provenance annotations, leaving out what is not known."""
    ann = {ANN_SOURCE: source, ANN_VERSION: version, ANN_REVISION: revision,
           ANN_STRATEGY: strategy, ANN_CHANGES: "; ".join(changes)}
    return {k: v for k, v in ann.items() if v}


def check_architecture(files: Sequence[FileSpec], platform: Platform) -> None:
    """Refuse an ELF file built for another architecture than ``platform``'s."""
    want = normalize(platform).architecture
    for f in files:
        if f.kind != "file":
            continue
        if f.data is not None:
            info = _elf_of(f.path, io.BytesIO(f.data))
        elif f.source is not None:
            try:
                with open(f.source, "rb") as fh:
                    info = _elf_of(f.path, fh)
            except FileNotFoundError:
                raise BadInput(f"{f.path!r}: source file {f.source!r} does not exist") from None
        else:
            continue
        if info is not None and info.goarch != want:
            found = info.goarch or "an unknown architecture"
            raise BadInput(f"/{normalize_path(f.path)}: binary is for {found} ({info.machine}, "
                           f"{info.elf_class}-bit), but the image is for {platform}")


def _elf_of(path: str, stream):
    try:
        return read_elf(stream)
    except BadInput as e:
        raise BadInput(f"/{normalize_path(path)}: {e}") from None


def assemble(base: Base | None, files: Sequence[FileSpec], *, platform: Platform, family: str,
             reference_config: ImageConfig | Mapping[str, Any] | None = None,
             annotations: Mapping[str, str] | None = None, history: History = History(),
             workdir: str | None = None, compresslevel: int = 6) -> Built:
    """Build ``files`` into one new layer on ``base`` (``None``: scratch).

    ``history.created`` is the SOURCE_DATE_EPOCH the caller chose (also
    every tar mtime).  ``reference_config`` is the upstream image's config whose
    contract fields (:data:`CONTRACT_KEYS`) the new image keeps; ``None``
    keeps the base's.  ``family`` is ``"oci"`` or ``"docker"``, following the
    index the image will join.  With ``workdir`` the layer is written there
    as ``sha256-<hex>.tar.gz``; otherwise it is kept in memory.
    """
    if family not in ("oci", "docker"):
        raise BadInput(f"unknown manifest family {family!r} (expected 'oci' or 'docker')")
    created = history.created
    if created < 0:
        raise BadInput(f"created time {created} is before 1970")
    platform = normalize(platform)
    if base is not None:
        _check_base(base, platform)
    check_architecture(files, platform)

    new_layers: list[Blob] = []
    diff_ids: list[str] = list(base.config.diff_ids) if base else []
    layer_descs: list[dict[str, Any]] = [_convert(d, family) for d in base.manifest.layers] if base else []
    if files:
        blob, res = _write_layer(files, workdir, created, compresslevel, family)
        new_layers.append(blob)
        diff_ids.append(str(res.diff_id))
        layer_descs.append(blob.descriptor.to_dict())

    config = _derive_config(base, reference_config, platform, history, diff_ids, empty_layer=not files)
    config_desc = Descriptor(mt.config_type_for(family), Digest.of(config), len(config))
    ann: dict[str, str] = {}
    if base is not None:
        ann[ANN_BASE_DIGEST] = str(base.manifest.digest)
    ann.update({k: v for k, v in (annotations or {}).items() if v})
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": mt.manifest_type_for(family),
        "config": config_desc.to_dict(),
        "layers": layer_descs,
    }
    if ann:
        doc["annotations"] = ann
    raw = canonical_json(doc)
    manifest = Manifest(
        raw, doc["mediaType"], config_desc,
        tuple(Descriptor.from_dict(d) for d in layer_descs), MappingProxyType(ann),
    )
    return Built(manifest, config, platform, tuple(new_layers), base)


def canonical_json(doc: Mapping[str, Any]) -> bytes:
    """Documents we author: sorted keys, no spaces, so bytes depend only on content."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _check_base(base: Base, platform: Platform) -> None:
    if base.config.architecture:
        have = normalize(base.config.platform)
        if (have.os, have.architecture) != (platform.os, platform.architecture):
            raise BadInput(f"base image is {have}, but the image is for {platform}")
    if len(base.config.diff_ids) != len(base.manifest.layers):
        raise BadInput(f"base image has {len(base.manifest.layers)} layers but "
                       f"{len(base.config.diff_ids)} diff_ids in its config")


def _convert(desc: Descriptor, family: str) -> dict[str, Any]:
    d = desc.to_dict()
    table = _TO_OCI if family == "oci" else _TO_DOCKER
    media = table.get(desc.media_type, desc.media_type)
    if family == "docker" and media.startswith("application/vnd.oci."):
        raise BadInput(f"base layer {desc.digest} is {desc.media_type}, which a Docker manifest cannot carry")
    d["mediaType"] = media
    return d


def _write_layer(files: Sequence[FileSpec], workdir: str | None, mtime: int, level: int,
                 family: str) -> tuple[Blob, LayerResult]:
    media = mt.gzip_layer_type_for(family)
    if workdir is None:
        buf = io.BytesIO()
        res = build_layer(files, buf, mtime=mtime, compresslevel=level)
        return Blob(Descriptor(media, res.digest, res.size), data=buf.getvalue()), res
    # A staged strategy served from the build cache never ran the step that
    # made its work directory; the layer is still written there.
    os.makedirs(workdir, exist_ok=True)
    tmp = os.path.join(workdir, temps.name(".layer"))     # a dead run's is reclaimable
    try:
        with open(tmp, "xb") as out:
            res = build_layer(files, out, mtime=mtime, compresslevel=level)
        path = os.path.join(workdir, f"{res.digest.algorithm}-{res.digest.hex}.tar.gz")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return Blob(Descriptor(media, res.digest, res.size), path=path), res


def _reference_section(ref: ImageConfig | Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``config`` object of a reference config (full document or just that object)."""
    doc = ref.document() if isinstance(ref, ImageConfig) else ref
    if "config" in doc:                     # a whole config document ("config" may be null)
        inner = doc["config"]
        return inner if isinstance(inner, Mapping) else {}
    return doc


def _derive_config(base: Base | None, reference: ImageConfig | Mapping[str, Any] | None,
                   platform: Platform, history: History, diff_ids: list[str], empty_layer: bool) -> bytes:
    doc: dict[str, Any] = base.config.document() if base else {}
    for k in _BASE_ONLY:
        doc.pop(k, None)
    inner = dict(doc.get("config") or {})
    if reference is not None:
        ref = _reference_section(reference)
        for k in CONTRACT_KEYS:
            inner.pop(k, None)
            if ref.get(k) not in (None, "", [], {}):
                inner[k] = ref[k]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(history.created))
    doc["config"] = inner
    doc["os"] = platform.os
    doc["architecture"] = platform.architecture
    if platform.variant:
        doc["variant"] = platform.variant
    else:
        doc.pop("variant", None)       # riscv64 entries carry no variant (image-spec lists ARM ones only)
    doc["created"] = stamp
    doc["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    entry: dict[str, Any] = {"created": stamp, "created_by": history.created_by}
    if history.comment:
        entry["comment"] = history.comment
    if empty_layer:
        entry["empty_layer"] = True
    doc["history"] = [*(doc.get("history") or []), entry]
    return canonical_json(doc)


__all__ = ["Base", "Blob", "Built", "BuiltSource", "History", "assemble", "provenance", "check_architecture",
           "canonical_json", "CONTRACT_KEYS"]
