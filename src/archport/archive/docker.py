"""``docker-archive:FILE[:REF]``: the ``docker save`` format.

``manifest.json`` lists images as ``{"Config", "RepoTags", "Layers"}`` with
paths into the tar; there is no registry manifest inside.  One image is one
platform (docker save has no index).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .. import reference
from ..errors import ArchportError, BadInput, BadReference
from ..layout import MAX_MANIFEST, LayoutReader, blob_path
from ..location import ArchiveLocation
from ..oci import Descriptor, Index, Manifest, parse_manifest
from ..oci import mediatypes as mt
from ..oci.digest import Digest
from ..oci.manifest import dump_json, load_json
from .oci import LayoutBacked
from .tarfiles import GZIP_MAGIC, ZSTD_MAGIC, ExtractedTar, clean_name, open_members, write_tar_file

MANIFEST_FILE = "manifest.json"
# Not in oci.mediatypes: only a docker-archive has uncompressed Docker layers.
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"


def read_manifest_json(files, where: str) -> list[dict]:
    if files.size(MANIFEST_FILE) is None:
        raise BadInput(f"{where}: not a docker-archive (no {MANIFEST_FILE})")
    doc = load_json(files.read(MANIFEST_FILE, MAX_MANIFEST), f"{where}: {MANIFEST_FILE}")
    if not isinstance(doc, list) or not all(isinstance(e, dict) and isinstance(e.get("Config"), str)
                                            and isinstance(e.get("Layers"), list) for e in doc):
        raise BadInput(f"{where}: {MANIFEST_FILE} is not a list of {{Config, RepoTags, Layers}}")
    return doc


def _normalized_tags(entry: dict) -> list[str]:
    out = []
    for t in entry.get("RepoTags") or ():
        try:
            out.append(reference.normalize(t))
        except BadReference:
            out.append(t)
    return out


def manifest_json(images) -> bytes:
    """``manifest.json`` for ``(manifest, repo tags)`` pairs, blobs stored
    as ``blobs/sha256/<hex>`` (the layout of docker save since Docker 25)."""
    return dump_json([{"Config": blob_path(m.config.digest), "RepoTags": list(tags),
                       "Layers": [blob_path(d.digest) for d in m.layers]} for m, tags in images])


class DockerArchiveSource(LayoutReader):
    """Read side.  ``name`` (``docker.io/rancher/mirrored-pause:3.6`` or any
    spelling of it) picks the image; without one the archive must hold one.

    The Docker schema-2 manifest :meth:`resolve` returns is authored by us from
    ``manifest.json`` — the archive holds none — so its digest is new: it is
    *not* the digest the image had in any registry.  Layer media types follow
    the bytes: ``…rootfs.diff.tar.gzip`` for gzip files, ``…rootfs.diff.tar``
    for plain tars.  Every digest is computed by reading the files once.
    """

    def __init__(self, path: str | os.PathLike, name: str | None = None) -> None:
        where = str(ArchiveLocation("docker-archive", str(path), name))
        files = open_members(path)
        super().__init__(files, None, where)
        try:
            self._manifest, self._paths = self._synthesize(name)
        except BaseException:
            self.close()
            raise

    def _synthesize(self, name: str | None) -> tuple[Manifest, dict[Digest, str]]:
        entries = read_manifest_json(self.files, self.name)
        if name is None:
            if len(entries) != 1:
                tags = sorted(t for e in entries for t in e.get("RepoTags") or ())
                raise BadInput(f"{self.name}: the archive holds {len(entries)} images; name one with :REF (tags: {', '.join(tags) or 'none'})")
            entry = entries[0]
        else:
            want = reference.normalize(name)
            found = [e for e in entries if want in _normalized_tags(e)]
            if not found:
                tags = sorted(t for e in entries for t in e.get("RepoTags") or ())
                raise BadInput(f"{self.name}: no image named {name!r} (tags: {', '.join(tags) or 'none'})")
            entry = found[0]
        paths: dict[Digest, str] = {}
        config = self._describe(entry["Config"], mt.DOCKER_CONFIG, paths)
        layers = []
        for p in entry["Layers"]:
            head = b"".join(_take(self.files.chunks(_member(self.files, p, self.name)), 4))
            mtype = mt.DOCKER_LAYER_GZIP if head.startswith(GZIP_MAGIC) else DOCKER_LAYER
            if head.startswith(ZSTD_MAGIC):
                raise BadInput(f"{self.name}: layer {p} is zstd-compressed, which a Docker schema-2 manifest cannot describe")
            layers.append(self._describe(p, mtype, paths))
        doc = {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
               "config": config.to_dict(), "layers": [d.to_dict() for d in layers]}
        m = parse_manifest(dump_json(doc), mt.DOCKER_MANIFEST)
        assert isinstance(m, Manifest)
        return m, paths

    def _describe(self, path: str, media_type: str, paths: dict[Digest, str]) -> Descriptor:
        rel = _member(self.files, path, self.name)
        h = Digest("sha256", "0" * 64).hasher()
        size = 0
        for chunk in self.files.chunks(rel):
            h.update(chunk)
            size += len(chunk)
        d = Digest("sha256", h.hexdigest())
        paths[d] = rel
        return Descriptor(media_type, d, size)

    def resolve(self) -> Manifest:
        return self._manifest

    def manifest(self, desc: Descriptor) -> Manifest | Index:
        if desc.digest != self._manifest.digest:
            raise BadInput(f"{self.name}: no manifest {desc.digest} (a docker-archive image has one, synthesized: {self._manifest.digest})")
        return self._manifest

    @contextmanager
    def open_blob(self, desc: Descriptor) -> Iterator[Iterator[bytes]]:
        rel = self._paths.get(desc.digest)
        if rel is None:
            raise BadInput(f"{self.name}: no blob {desc.digest} in this image")
        gen = self._verified(rel, desc)
        try:
            yield gen
        finally:
            gen.close()

    def close(self) -> None:
        if isinstance(self.files, ExtractedTar):
            self.files.close()

    def __enter__(self) -> "DockerArchiveSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _member(files, path: str, where: str) -> str:
    rel = clean_name(path)
    if rel is None or files.size(rel) is None:
        raise BadInput(f"{where}: {MANIFEST_FILE} names {path!r}, which is not in the archive")
    return rel


def _take(it, n: int):
    # The first chunk holds the magic; close the generator (and its file) at once.
    try:
        for chunk in it:
            yield chunk[:n]
            return
    finally:
        it.close()


class DockerArchiveSink(LayoutBacked):
    """Write side.  Blobs land in a temporary layout beside ``path``;
    :meth:`commit` adds ``manifest.json`` (``Config``/``Layers`` as paths
    ``blobs/sha256/<hex>``, ``RepoTags`` the names given to :meth:`tag`) and
    tars it to a temporary file and renames it into place.

    ``name`` (from ``docker-archive:FILE:REF``) is used when :meth:`tag` is
    given none.  One platform per image: an index is refused (the format has
    no place for it).  Tagged images must be complete.
    """

    #: read by archport.copy.plan: select one platform before sending anything
    single_platform = True

    def __init__(self, path: str | os.PathLike, name: str | None = None) -> None:
        self.path = Path(path)
        self.default_name = reference.normalize(name) if name else None
        self.name = str(ArchiveLocation("docker-archive", str(path), name))
        if self.path.is_dir():
            raise BadInput(f"{self.name}: {self.path} is a directory")
        if not self.path.parent.is_dir():
            raise BadInput(f"{self.name}: directory {self.path.parent} does not exist")
        self._stage(self.path)
        self._images: dict[Digest, tuple[Manifest, list[str]]] = {}

    def current(self, name: str | None) -> Descriptor | None:
        return None  # the archive is rewritten whole: never skip a copy into it

    def put_manifest(self, m: Manifest | Index) -> None:
        if isinstance(m, Index):
            raise BadInput("docker-archive holds one platform per image; pass --platform")
        self.layout.put_manifest(m)

    def tag(self, m: Manifest | Index, name: str | None) -> None:
        if isinstance(m, Index):
            raise BadInput("docker-archive holds one platform per image; pass --platform")
        if gone := self.layout.missing(m):
            raise ArchportError(f"{self.name}: cannot tag {m.digest}: {len(gone)} blob(s) missing, e.g. {gone[0].digest}")
        names = self._images.setdefault(m.digest, (m, []))[1]
        name = name if name is not None else self.default_name
        if name is not None:
            full = reference.normalize(name)
            for other in self._images.values():  # a name points at one image
                if full in other[1]:
                    other[1].remove(full)
            names.append(full)

    def commit(self) -> None:
        root = self.layout.root
        try:
            root.mkdir(parents=True, exist_ok=True)
            (root / MANIFEST_FILE).write_bytes(manifest_json(
                (m, [reference.parse(n).familiar() for n in names]) for m, names in self._images.values()))
            write_tar_file(self._tmpfile, root, first=(MANIFEST_FILE,))
            os.replace(self._tmpfile, self.path)
        finally:
            self._discard()

    def abort(self) -> None:
        self._discard()
