"""OCI image layout directories (image-spec ``image-layout.md``) as source and sink.

A layout is ``oci-layout`` (the version marker), ``index.json`` (the entry
points, each named by an ``org.opencontainers.image.ref.name`` annotation) and
``blobs/<alg>/<hex>``, one file per blob, named by its digest.

Reading verifies every byte against the digest that names it.  Writing keeps a
reader from ever seeing a half-written image: a blob goes to a temporary name
inside ``blobs/<alg>/`` and is renamed only after its digest and size check
out (a blob file therefore always holds the bytes its name promises), and
``index.json`` — the only file that *names* images — is rewritten once, in
:meth:`LayoutSink.commit`, with ``os.replace``, read afresh and merged under
an exclusive ``flock`` so concurrent runs adding different tags all land.
The locks are taken on the layout's own directories, so no file that is not
part of the layout is ever left in it.

A name given to a Docker-typed image (a Docker manifest list, as most
upstream k3s images are, or a Docker manifest) is written twice in
``index.json``: first the image itself, byte for byte, then an OCI image
index over the same children (:func:`archport.oci.edit.oci_view`).  Readers
that take the first entry of a name (archport, regctl) get the original
digest; those that consider OCI-typed entries only (skopeo 1.9's
containers/image) find the view, whose children keep their digests.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Protocol

from . import temps
from .errors import ArchportError, BadInput, DigestMismatch
from .location import LayoutLocation
from .oci import Descriptor, Index, Manifest, parse_manifest, read_config
from .oci import mediatypes as mt
from .dirlock import DirLock
from .oci.edit import oci_view
from .oci.digest import Digest, Verifier, verified
from .oci.manifest import dump_json, load_json
from .store import BlobOpener

REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT_FILE = "oci-layout"
INDEX_FILE = "index.json"
LAYOUT_VERSION = b'{"imageLayoutVersion":"1.0.0"}'
#: Locks (``flock`` on directories of the layout, no files of their own).
#: Every sink writing into a layout holds the writers' lock (the layout's root
#: directory) shared from its first write until it commits or aborts; the
#: read-modify-write of ``index.json`` holds the index lock (``blobs/``)
#: exclusive.  So two runs adding different tags both land, and an aborting
#: run can tell that nobody else is at work in a directory before it removes it.
INDEX_LOCK_DIR = "blobs"
#: Lock files earlier versions left in layouts; removed by the next commit.
OLD_LOCK_FILES = (".archport-writers.lock", ".archport-index.lock")
#: pending-entry key suffix of the OCI view written beside a Docker-typed image
_VIEW = "\0oci-view"
CHUNK = 1 << 20
# Manifests and index.json are read whole; anything bigger is not one.
MAX_MANIFEST = 8 << 20
# image-layout.md "ref.name" grammar: components separated by '/', each made
# of alphanumerics joined by one of -._:@+ (or '--').
_REF_NAME = re.compile(r"^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$")


def blob_path(digest: Digest) -> str:
    """``blobs/<alg>/<hex>``, relative to the layout root."""
    return f"blobs/{digest.algorithm}/{digest.hex}"


class Files(Protocol):
    """Read access to the files of a layout, wherever they are (a directory,
    members of a tar).  Paths are relative, with '/'."""

    where: str

    def size(self, rel: str) -> int | None: ...

    def read(self, rel: str, limit: int) -> bytes: ...

    def chunks(self, rel: str) -> Iterator[bytes]: ...


class DirFiles:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root)

    def size(self, rel: str) -> int | None:
        try:
            return (self.root / rel).stat().st_size
        except (FileNotFoundError, NotADirectoryError):  # oci:FILE: a file where the layout should be
            return None

    def read(self, rel: str, limit: int) -> bytes:
        with open(self.root / rel, "rb") as f:
            if os.fstat(f.fileno()).st_size > limit:
                raise BadInput(f"{self.where}: {rel} is larger than {limit} bytes")
            return f.read()

    def chunks(self, rel: str) -> Iterator[bytes]:
        with open(self.root / rel, "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk


def read_index(files: Files) -> dict:
    if files.size(INDEX_FILE) is None:
        raise BadInput(f"{files.where}: not an OCI image layout (no {INDEX_FILE})")
    doc = load_json(files.read(INDEX_FILE, MAX_MANIFEST), f"{files.where}: {INDEX_FILE}")
    if not isinstance(doc, dict) or not isinstance(doc.get("manifests"), list):
        raise BadInput(f"{files.where}: {INDEX_FILE} has no 'manifests' list")
    return doc


def select_entry(entries: list[Descriptor], tag: str | None, where: str) -> Descriptor:
    """The index.json entry a tag names; without a tag, the only entry."""
    names = sorted({e.annotations[REF_NAME] for e in entries if REF_NAME in e.annotations})
    listed = ", ".join(names) if names else "none"
    if tag is None:
        if len(entries) == 1:
            return entries[0]
        if not entries:
            raise BadInput(f"{where}: the layout holds no image")
        raise BadInput(f"{where}: the layout holds {len(entries)} images; name one with :TAG (tags: {listed})")
    for e in entries:
        if e.annotations.get(REF_NAME) == tag:
            return e
    raise BadInput(f"{where}: no image tagged {tag!r} (tags: {listed})")


class LayoutReader:
    """Source logic over any :class:`Files` (shared with ``oci-archive``)."""

    def __init__(self, files: Files, tag: str | None, name: str) -> None:
        self.files = files
        self.tag = tag
        self.name = name

    def entries(self) -> list[Descriptor]:
        return [Descriptor.from_dict(d) for d in read_index(self.files)["manifests"]]

    def resolve(self) -> Manifest | Index:
        return self.manifest(select_entry(self.entries(), self.tag, self.name))

    def manifest(self, desc: Descriptor) -> Manifest | Index:
        rel = blob_path(desc.digest)
        if self.files.size(rel) is None:
            raise BadInput(f"{self.name}: manifest {desc.digest} is missing from the layout")
        raw = self.files.read(rel, MAX_MANIFEST)
        desc.digest.verify(raw, what=f"manifest in {self.name}")
        return parse_manifest(raw, desc.media_type, desc.digest)

    @contextmanager
    def open_blob(self, desc: Descriptor) -> Iterator[Iterator[bytes]]:
        rel = blob_path(desc.digest)
        if self.files.size(rel) is None:
            raise BadInput(f"{self.name}: blob {desc.digest} is missing from the layout")
        gen = self._verified(rel, desc)
        try:
            yield gen
        finally:
            gen.close()

    def _verified(self, rel: str, desc: Descriptor) -> Iterator[bytes]:
        return verified(self.files.chunks(rel), desc.digest, desc.size, what=f"blob in {self.name}")


class LayoutSource(LayoutReader):
    """``oci:DIR[:TAG]`` read side.  Without a tag the layout must hold exactly
    one image (its only ``index.json`` entry)."""

    def __init__(self, path: str | os.PathLike, tag: str | None = None) -> None:
        super().__init__(DirFiles(Path(path)), tag, str(LayoutLocation(str(path), tag)))


class LayoutSink:
    """``oci:DIR[:TAG]`` write side.

    ``tag(m, name)`` names ``m`` with the sink's own tag when it has one, else
    with ``name`` (``None``: an entry without a ref name).  :meth:`commit`
    rewrites ``index.json`` under the layout's lock, reading it afresh: an
    existing entry with the same ref name is replaced, every other entry is
    kept verbatim.  Safe to call ``put_blob`` from several threads.
    Temporary files carry the pid (:mod:`archport.temps`); those of runs that
    died are removed by the next run that writes here.
    """

    single_platform = False

    def __init__(self, path: str | os.PathLike, tag: str | None = None) -> None:
        if tag is not None and not _REF_NAME.match(tag):
            raise BadInput(f"invalid tag {tag!r} for an OCI layout")
        self.root = Path(path)
        self.fixed_tag = tag
        self.name = str(LayoutLocation(str(path), tag))
        self._lock = threading.Lock()
        self._pending: dict[str, Descriptor] = {}
        self._temps: set[Path] = set()
        self._dirs: set[str] = set()
        self._writers = DirLock(self.root)
        self._holding = False
        self._created_root = False
        self._committed = False
        self._intact: set[str] = set()     # digests whose stored bytes this sink hashed or wrote
        if self.root.exists() and not self.root.is_dir():
            raise BadInput(f"{self.name}: {self.root} exists and is not a directory")
        # The layout directory is created, never its parents: a mistyped path is the user's to fix.
        parent = self.root.absolute().parent
        if not self.root.exists() and not parent.is_dir():
            raise BadInput(f"{self.name}: {parent} " + ("is not a directory" if parent.exists() else
                                                         "does not exist (archport does not create it)"))

    # -- blobs and manifests --------------------------------------------------

    def _blob_file(self, digest: Digest) -> Path:
        return self.root / blob_path(digest)

    def has_blob(self, desc: Descriptor) -> bool:
        try:
            return self._blob_file(desc.digest).stat().st_size == desc.size
        except FileNotFoundError:
            return False

    def has_manifest(self, desc: Descriptor) -> bool:
        return self.whole(desc)      # small: hashed, so a damaged one is written again

    def whole(self, desc: Descriptor) -> bool:
        """Stored, and its bytes hash to its digest.  What a re-copy relies
        on instead of sending (a file of the right size may still be
        damaged) is hashed once per sink: reading a local file costs far less
        than the transfer it saves."""
        key = str(desc.digest)
        with self._lock:
            if key in self._intact:
                return True
        if not self.has_blob(desc):
            return False
        v = Verifier(desc.digest, desc.size, what=f"blob in {self.name}")
        try:
            with open(self._blob_file(desc.digest), "rb") as f:
                while chunk := f.read(1 << 20):
                    v.update(chunk)
            v.check()
        except (DigestMismatch, OSError):
            return False
        with self._lock:
            self._intact.add(key)
        return True

    def holds(self, desc: Descriptor, _depth: int = 0) -> bool:
        """The manifest ``desc`` names and everything below it are stored."""
        if not self.has_blob(desc) or _depth > 8:
            return False
        try:
            m = LayoutReader(DirFiles(self.root), None, self.name).manifest(desc)
        except (ArchportError, OSError):
            return False  # unreadable or not what its name promises
        if isinstance(m, Index):
            return all(self.holds(d, _depth + 1) for d in m.manifests)
        return all(self.whole(b) for b in m.blobs() if not (b.urls or b.media_type == mt.DOCKER_FOREIGN_LAYER))

    def _start(self) -> None:
        """First write: create the layout if needed and join it (shared lock)."""
        if self._holding:
            return
        try:
            self.root.mkdir()
            self._created_root = True
        except FileExistsError:
            pass
        except (NotADirectoryError, FileNotFoundError):
            raise BadInput(f"{self.name}: a parent of {self.root} is not a directory") from None
        self._writers.acquire(fcntl.LOCK_SH)
        self._holding = True

    def _ensure_dirs(self, digest: Digest) -> Path:
        with self._lock:
            self._start()
            d = self.root / "blobs" / digest.algorithm
            if digest.algorithm not in self._dirs:
                d.mkdir(parents=True, exist_ok=True)
                temps.reclaim(d)    # blobs half-written by runs that died
                self._dirs.add(digest.algorithm)
            return d

    def put_blob(self, desc: Descriptor, opener: BlobOpener) -> str:
        # A damaged file under the digest's name is replaced, not trusted.
        if self.whole(desc):
            return "exists"
        d = self._ensure_dirs(desc.digest)
        tmp = d / temps.name(f".{desc.digest.hex[:16]}")
        with self._lock:
            self._temps.add(tmp)
        try:
            v = Verifier(desc.digest, desc.size, what=f"blob for {self.name}")
            with open(tmp, "wb") as f, opener() as chunks:
                for chunk in chunks:
                    v.update(chunk)
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            v.check()
            os.replace(tmp, self._blob_file(desc.digest))
            with self._lock:
                self._intact.add(str(desc.digest))
        finally:
            tmp.unlink(missing_ok=True)
            with self._lock:
                self._temps.discard(tmp)
        return "uploaded"

    def put_manifest(self, m: Manifest | Index) -> None:
        desc = m.descriptor()
        if self.whole(desc):
            return
        if Digest.of(m.raw, m.digest.algorithm) != m.digest:
            raise DigestMismatch(str(m.digest), str(Digest.of(m.raw, m.digest.algorithm)), "manifest")

        @contextmanager
        def raw() -> Iterator[Iterator[bytes]]:
            yield iter((m.raw,))

        self.put_blob(desc, raw)

    # -- naming ---------------------------------------------------------------

    def missing(self, m: Manifest | Index) -> list[Descriptor]:
        """What ``m`` refers to that is not stored (children of an index, or
        the config and layers of an image)."""
        refs = m.manifests if isinstance(m, Index) else m.blobs()
        return [d for d in refs if not self.has_blob(d)]

    def tag(self, m: Manifest | Index, name: str | None) -> None:
        if not self.has_manifest(m.descriptor()):
            raise ArchportError(f"{self.name}: cannot tag {m.digest}: the manifest was not stored")
        # An image must be complete; an index may list platforms left out.
        if isinstance(m, Manifest) and (gone := self.missing(m)):
            raise ArchportError(f"{self.name}: cannot tag {m.digest}: {len(gone)} blob(s) missing, e.g. {gone[0].digest}")
        ref = self.fixed_tag if self.fixed_tag is not None else name
        if ref is not None and not _REF_NAME.match(ref):
            raise BadInput(f"invalid tag {ref!r} for an OCI layout")
        desc = m.descriptor()
        if ref is not None:
            desc = desc.with_annotations({REF_NAME: ref})
        self.record(desc, ref)
        if ref is None:
            return
        with self._lock:
            self._pending.pop(ref + _VIEW, None)    # a retag drops an earlier view
        if mt.family_of(m.media_type) == "docker":
            view = oci_view(m, self._platform_of(m) if isinstance(m, Manifest) else None)
            self.put_manifest(view)
            self.record(view.descriptor().with_annotations({REF_NAME: ref}), ref + _VIEW)

    def _platform_of(self, m: Manifest):
        try:
            return read_config(LayoutReader(DirFiles(self.root), None, self.name), m).platform
        except (ArchportError, OSError):
            return None     # not an image config: the view's entry has no platform

    def current(self, name: str | None) -> Descriptor | None:
        """The committed ``index.json`` entry the tag names, if any."""
        ref = self.fixed_tag if self.fixed_tag is not None else name
        if ref is None or not (self.root / INDEX_FILE).exists():
            return None
        for d in read_index(DirFiles(self.root))["manifests"]:
            if isinstance(d, dict) and (d.get("annotations") or {}).get(REF_NAME) == ref:
                return Descriptor.from_dict(d)
        return None

    def record(self, desc: Descriptor, key: str | None) -> None:
        """Add an ``index.json`` entry, replacing an earlier one with the same
        ``key`` (``None``: keyed by digest)."""
        with self._lock:
            self._pending[key if key is not None else f"@{desc.digest}"] = desc

    def pending(self) -> list[Descriptor]:
        with self._lock:
            return list(self._pending.values())

    # -- visibility -----------------------------------------------------------

    def commit(self) -> None:
        with self._lock:
            pending = dict(self._pending)
            self._start()
        index_lock = DirLock(self.root / INDEX_LOCK_DIR)
        try:
            index_lock.acquire(fcntl.LOCK_EX)
            temps.reclaim(self.root, ".")     # index.json or oci-layout half-written by a dead run
            for old in OLD_LOCK_FILES:
                (self.root / old).unlink(missing_ok=True)
            if not (self.root / LAYOUT_FILE).exists():
                temps.write_atomic(self.root / LAYOUT_FILE, LAYOUT_VERSION)
            index_file = self.root / INDEX_FILE
            if index_file.exists():
                doc = read_index(DirFiles(self.root))   # afresh: another run may have added a tag
            else:
                doc = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}
            temps.write_atomic(index_file, dump_json(merge_entries(doc, pending.values())))
            self._committed = True
        finally:
            index_lock.release()
            self._release()

    def _release(self) -> None:
        self._writers.release()
        self._holding = False

    def abort(self) -> None:
        with self._lock:
            temps_ = list(self._temps)
            self._pending.clear()
        for t in temps_:
            t.unlink(missing_ok=True)
        if not self._holding:
            return
        # A layout this run created and nobody committed into leaves nothing
        # behind; but only when no other run is writing there (each holds the
        # writers' lock shared, so ours cannot become exclusive), and never
        # once an index.json names anything.
        try:
            if self._created_root and not self._committed \
                    and self._writers.acquire(fcntl.LOCK_EX | fcntl.LOCK_NB) \
                    and not (self.root / INDEX_FILE).exists():
                shutil.rmtree(self.root, ignore_errors=True)
        finally:
            self._release()


def merge_entries(doc: dict, pending) -> dict:
    """``index.json`` with ``pending`` descriptors added: an entry with the
    same ref name (or, unnamed, the same digest) is replaced; every other
    entry is kept verbatim, unknown fields included."""
    pending = list(pending)
    new_refs = {d.annotations.get(REF_NAME) for d in pending} - {None}
    new_digests = {str(d.digest) for d in pending if REF_NAME not in d.annotations}
    kept = []
    for e in doc["manifests"]:
        if isinstance(e, dict):
            ref = (e.get("annotations") or {}).get(REF_NAME)
            if ref in new_refs or (ref is None and e.get("digest") in new_digests):
                continue
        kept.append(e)
    return {**doc, "manifests": kept + [d.to_dict() for d in pending]}
