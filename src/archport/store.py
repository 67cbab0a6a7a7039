"""Where images are read from and written to: the two small interfaces.

Every place bytes live — a registry repository, an OCI layout directory, an
``oci-archive``/``docker-archive`` tarball — is a :class:`Source`, a
:class:`Sink`, or both.  :mod:`archport.copy` is written against these
interfaces only, so ``copy`` works between any pair.

Write order (the anatomy of a safe upload, coded once in :mod:`archport.write`):
blobs first, then child manifests by digest, then the index by digest, and
only then the tag.  A sink that is a
file (layout ``index.json``, an archive) writes to a temporary name and renames
it in :meth:`Sink.commit`, so a reader never sees a half-written image.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Callable, Iterator, Protocol, runtime_checkable

from .oci import Descriptor, Index, Manifest

#: A way to (re)open a blob's byte stream.  Called again for a retry.
BlobOpener = Callable[[], AbstractContextManager[Iterator[bytes]]]


@runtime_checkable
class Source(Protocol):
    """Read side.  ``name`` is for messages only."""

    name: str

    def resolve(self) -> Manifest | Index:
        """The top-level manifest or index this location names."""
        ...

    def manifest(self, desc: Descriptor) -> Manifest | Index:
        """A manifest by descriptor; its digest is verified."""
        ...

    def open_blob(self, desc: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        """Stream a blob in chunks; raises DigestMismatch at the end if the
        bytes do not hash to ``desc.digest``."""
        ...


@runtime_checkable
class Sink(Protocol):
    """Write side."""

    name: str
    #: True when the location holds one platform per image (``docker-archive``):
    #: the copier then picks one platform before sending anything.
    single_platform: bool

    def has_blob(self, desc: Descriptor) -> bool: ...

    def put_blob(self, desc: Descriptor, opener: BlobOpener) -> str:
        """Store a blob; verify it; return ``"uploaded"``, ``"exists"`` or
        ``"mounted"``.  Nothing is committed when the digest does not match."""
        ...

    def has_manifest(self, desc: Descriptor) -> bool: ...

    def holds(self, desc: Descriptor) -> bool:
        """Whether the manifest ``desc`` names is stored *with everything
        below it* (child manifests, config, layers), as far as the location
        can tell cheaply: a layout walks its files; a registry HEADs the
        manifest (it refuses a manifest whose blobs it lacks)."""
        ...

    def current(self, name: str | None) -> Descriptor | None:
        """What ``name`` (or the location's own tag) points at now, if anything;
        lets a repeated copy stop after one HEAD."""
        ...

    def put_manifest(self, m: Manifest | Index) -> None:
        """Store a manifest by digest (raw bytes, verbatim)."""
        ...

    def tag(self, m: Manifest | Index, name: str | None) -> None:
        """Point ``name`` (a tag, or for archives a full image name) at ``m``.
        Called last, after everything ``m`` refers to is stored."""
        ...

    def commit(self) -> None:
        """Make the writes visible atomically (files) — a no-op for registries."""
        ...

    def abort(self) -> None:
        """Drop uncommitted writes (temporary files)."""
        ...
