"""``oci-archive:FILE[:TAG]``: a tar of an OCI image layout."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .. import temps
from ..errors import BadInput
from ..layout import INDEX_FILE, LAYOUT_FILE, LayoutReader, LayoutSink
from ..location import ArchiveLocation
from ..oci import Descriptor, Index, Manifest
from ..store import BlobOpener
from .tarfiles import ExtractedTar, open_members, write_tar_file


class OciArchiveSource(LayoutReader):
    """Read side.  An uncompressed tar is read in place (member offsets are
    indexed once, blobs are read by seeking); a ``.tar.gz``/``.tar.zst``
    (recognised by its magic bytes, not its name) is extracted once into a
    temporary directory, removed by :meth:`close`."""

    def __init__(self, path: str | os.PathLike, tag: str | None = None) -> None:
        name = str(ArchiveLocation("oci-archive", str(path), tag))
        files = open_members(path)
        if files.size(LAYOUT_FILE) is None and files.size(INDEX_FILE) is None:
            if isinstance(files, ExtractedTar):
                files.close()
            raise BadInput(f"{name}: not an OCI archive (no {INDEX_FILE} / {LAYOUT_FILE} inside)")
        super().__init__(files, tag, name)

    def close(self) -> None:
        if isinstance(self.files, ExtractedTar):
            self.files.close()

    def __enter__(self) -> "OciArchiveSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LayoutBacked:
    """A sink whose blobs and manifests go to a :class:`LayoutSink` (``self.layout``)
    in a staging directory beside the output file before being packed.

    The staging directory and the packed file have names that carry the pid
    (:mod:`archport.temps`): two runs writing the same file never share one,
    and what a killed run left is removed by the next run writing there."""

    layout: LayoutSink
    single_platform = False

    def _stage(self, path: Path, tag: str | None = None) -> None:
        temps.reclaim(path.parent, f".{path.name}")   # staging dirs of dead runs
        temps.reclaim(path.parent, path.name)         # half-written files of dead runs
        self._tmpdir = path.parent / temps.name(f".{path.name}")
        self._tmpdir.mkdir()
        self._tmpfile = path.parent / temps.name(path.name)
        self.layout = LayoutSink(self._tmpdir / "layout", tag)
        self.layout.name = self.name

    def _discard(self) -> None:
        self.layout.abort()   # its temporaries and lock, when not committed
        self._tmpfile.unlink(missing_ok=True)
        shutil.rmtree(self._tmpdir, ignore_errors=True)

    def holds(self, desc: Descriptor) -> bool:
        return self.layout.holds(desc)

    def has_blob(self, desc: Descriptor) -> bool:
        return self.layout.has_blob(desc)

    def put_blob(self, desc: Descriptor, opener: BlobOpener) -> str:
        return self.layout.put_blob(desc, opener)

    def has_manifest(self, desc: Descriptor) -> bool:
        return self.layout.has_manifest(desc)

    def put_manifest(self, m: Manifest | Index) -> None:
        self.layout.put_manifest(m)


class OciArchiveSink(LayoutBacked):
    """Write side: a :class:`LayoutSink` on a temporary directory beside
    ``path``; :meth:`commit` writes the tar to a temporary file and renames it over
    ``path``.  The archive is written whole: an existing file is replaced, not
    merged (as ``skopeo copy`` to ``oci-archive:`` does)."""

    def __init__(self, path: str | os.PathLike, tag: str | None = None) -> None:
        self.path = Path(path)
        self.name = str(ArchiveLocation("oci-archive", str(path), tag))
        if self.path.is_dir():
            raise BadInput(f"{self.name}: {self.path} is a directory")
        if not self.path.parent.is_dir():
            raise BadInput(f"{self.name}: directory {self.path.parent} does not exist")
        self._stage(self.path, tag)

    def current(self, name: str | None) -> Descriptor | None:
        return None  # the archive is rewritten whole: never skip a copy into it

    def tag(self, m: Manifest | Index, name: str | None) -> None:
        self.layout.tag(m, name)

    def commit(self) -> None:
        try:
            self.layout.commit()
            write_tar_file(self._tmpfile, self.layout.root, first=(LAYOUT_FILE, INDEX_FILE))
            os.replace(self._tmpfile, self.path)
        finally:
            self._discard()

    def abort(self) -> None:
        self._discard()
