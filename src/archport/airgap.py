"""The archive k3s imports from ``/var/lib/rancher/k3s/agent/images/``.

One tar holding two descriptions of the same blobs:

* an OCI image layout whose ``index.json`` names each image with
  ``io.containerd.image.name`` (the fully normalized name — the kubelet asks
  containerd for ``docker.io/rancher/mirrored-pause:3.6``, never the short
  form; k3s issue 7015) and ``org.opencontainers.image.ref.name`` (the tag).
  containerd's importer prefers the OCI layout when ``oci-layout`` is present
  and keeps these names and the manifests verbatim, so each image keeps the
  digest it has in the registry;
* a Docker ``manifest.json`` (``Config``/``RepoTags``/``Layers`` as paths into
  ``blobs/sha256/``) so ``docker load`` takes the same file.  It can describe
  one platform per image: for an index it lists the first platform, in index
  order, whose manifest is in the archive.

k3s imports with "all platforms" (containerd ``WithAllPlatforms(true)``): an
index whose children are not all in the archive makes the *whole file* fail to
import (measured with containerd 1.6.20, ``ctr images import`` without
``--platform`` or with ``--all-platforms``: ``content digest …: not found``).
So :meth:`AirgapSink.commit` narrows such an index: when one platform is left
the image is named by that platform's own manifest (whose digest is the one
it has in the registry), when several are left by a new index over them.

Compression follows the suffix; zstd frames declare a window of at most 8 MiB
(k3s's decoder refuses windows above 32 MiB).  ``FILE.sha256`` (``sha256sum``
format) is written beside the archive.  Everything goes to temporary names
that carry the pid (unique per run; a dead run's are reclaimed by the next)
and is renamed at commit, the ``.sha256`` last, computed from the renamed
file itself.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from . import reference
from .archive.docker import MANIFEST_FILE, manifest_json
from .archive.oci import LayoutBacked
from .archive.tarfiles import tmp_name, write_tar_file
from .errors import ArchportError, BadInput
from .layout import CHUNK, INDEX_FILE, LAYOUT_FILE, REF_NAME, DirFiles, LayoutReader
from .oci import Descriptor, Index, Manifest
from .oci.manifest import build_index
from .oci import mediatypes as mt

IMAGE_NAME = "io.containerd.image.name"
SUFFIXES: dict[str, str | None] = {
    ".tar": None, ".tar.gz": "gzip", ".tgz": "gzip", ".tar.zst": "zstd", ".tzst": "zstd",
}


def compression_for(path: Path) -> str | None:
    """The compression an output file name asks for; BadInput if unknown."""
    name = path.name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return SUFFIXES[suffix]
    raise BadInput(f"{path}: unknown archive suffix; use one of {', '.join(SUFFIXES)}")


class AirgapSink(LayoutBacked):
    """Write side of ``archport airgap``.  ``tag(m, name)`` needs a full image
    name (any spelling; it is normalized).  ``level`` is the gzip/zstd level
    (defaults: gzip 6, zstd 3).  ``referrers``: the writer is asked to store
    each image's OCI referrers (SBOM, provenance) too, as the referrers tag
    ``<repository>:sha256-<hex>`` (:mod:`archport.attest.attach`)."""

    def __init__(self, out: str | os.PathLike, level: int | None = None, referrers: bool = False) -> None:
        self.path = Path(out)
        self.referrers = referrers
        self.name = f"airgap:{self.path}"
        self.compression = compression_for(self.path)
        self.level = level
        if self.path.is_dir():
            raise BadInput(f"{self.path} is a directory")
        if not self.path.parent.is_dir():
            raise BadInput(f"directory {self.path.parent} does not exist")
        self._stage(self.path)
        self._tagged: dict[str, tuple[Manifest | Index, dict[str, str]]] = {}
        self._summary: dict = {"images": []}

    @property
    def images(self) -> list[str]:
        """The full names tagged so far: what :meth:`commit` would write."""
        return list(self._tagged)

    @property
    def checksum_path(self) -> Path:
        return self.path.with_name(self.path.name + ".sha256")

    def current(self, name: str | None) -> Descriptor | None:
        return None  # the archive is written whole: never skip an image

    def tag(self, m: Manifest | Index, name: str | None) -> None:
        if name is None:
            raise BadInput("an airgap archive names every image: give a full image name")
        ref = reference.parse(name)
        full = ref.normalized()
        ann = {IMAGE_NAME: full}
        if ref.tag or not ref.digest:
            ann[REF_NAME] = ref.tag or reference.DEFAULT_TAG
        if not self.layout.has_manifest(m.descriptor()):
            raise ArchportError(f"{self.name}: cannot tag {full}: its manifest was not stored")
        self._tagged[full] = (m, ann)

    def _settle(self, full: str, m: Manifest | Index) -> tuple[Manifest | Index, Manifest, str]:
        """What to name ``full`` with, the manifest ``manifest.json`` lists for
        it, and how it was chosen (``""``, ``"platform-manifest"``, ``"new-index"``).

        An index whose children are not all here is narrowed (see the module
        docstring): one platform left → its own manifest, which keeps the
        digest it has in the registry; several → a new index over them."""
        reader = LayoutReader(DirFiles(self.layout.root), None, self.name)
        if isinstance(m, Manifest):
            children, images = [], [m]
        else:
            children = [c for c in m.manifests if self.layout.has_manifest(c)]
            images = []
            for c in children:
                got = reader.manifest(c)
                if isinstance(got, Index):
                    raise ArchportError(f"{full}: nested indexes are not supported in an airgap archive")
                images.append(got)
        for img in images:
            if gone := self.layout.missing(img):
                raise ArchportError(f"{full}: image {img.digest} lacks {len(gone)} blob(s), e.g. {gone[0].digest}")
        runnable = [i for i in images if mt.is_image(i.media_type)]
        if not runnable:
            raise ArchportError(f"{full}: none of the index's platforms is in the archive")
        if isinstance(m, Manifest) or len(children) == len(m.manifests):
            return m, runnable[0], ""
        if len(children) == 1:
            return images[0], images[0], "platform-manifest"
        new = build_index(m.media_type, children, m.annotations)
        self.layout.put_manifest(new)
        return new, runnable[0], "new-index"

    def commit(self) -> None:
        try:
            listed: dict[str, tuple[Manifest, list[str]]] = {}
            for full, (m, ann) in self._tagged.items():
                top, img, how = self._settle(full, m)
                self.layout.record(top.descriptor().with_annotations(ann), full)
                listed.setdefault(str(img.digest), (img, []))[1].append(full)
                self._summary["images"].append({"name": full, "digest": str(top.digest),
                                                "mediaType": top.media_type, "narrowed": how or None})
            self.layout.commit()
            root = self.layout.root
            (root / MANIFEST_FILE).write_bytes(manifest_json(listed.values()))
            written = write_tar_file(self._tmpfile, root, (LAYOUT_FILE, INDEX_FILE, MANIFEST_FILE),
                                     self.compression, self.level)
            self._summary.update(self._publish(written))
        finally:
            self._discard()

    def _publish(self, written: str) -> dict:
        """Rename the archive into place and write its ``.sha256``, both under
        a lock on the directory: two runs writing the same ``--out`` finish
        one after the other, and the checksum is computed from the file on
        disk after the rename, so it always describes the file beside it."""
        sums = tmp_name(self.checksum_path)
        try:
            with _locked_dir(self.path.parent):
                os.replace(self._tmpfile, self.path)
                with open(self.path, "rb") as f:
                    h = hashlib.sha256()
                    size = 0
                    while chunk := f.read(CHUNK):
                        h.update(chunk)
                        size += len(chunk)
                if h.hexdigest() != written:
                    raise ArchportError(f"{self.path}: the file on disk does not hold the bytes written "
                                        f"(sha256 {h.hexdigest()}, wrote {written})")
                with open(sums, "w") as f:
                    f.write(f"{h.hexdigest()}  {self.path.name}\n")
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(sums, self.checksum_path)
        finally:
            sums.unlink(missing_ok=True)
        return {"sha256": h.hexdigest(), "size": size}

    def summary(self) -> dict:
        """After :meth:`commit`: ``sha256``, ``size`` and, per image, the digest
        it is named with and whether the index was narrowed."""
        return dict(self._summary)

    def abort(self) -> None:
        self._discard()


@contextmanager
def _locked_dir(directory: Path) -> Iterator[None]:
    # flock works on a directory's descriptor: no lock file is left beside
    # the archive in k3s's images directory.
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
