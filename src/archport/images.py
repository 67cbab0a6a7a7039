"""Opening an image where it is: a location in, a :class:`~archport.store.Source`
or :class:`~archport.store.Sink` out.

A location is the text a user typed (``rancher/mirrored-pause:3.6``,
``oci:DIR:TAG``, ``oci-archive:FILE``, ``docker-archive:FILE:REF``), a parsed
:mod:`archport.location` value, or a :class:`~archport.reference.Reference`
(a registry).  The registry client is built by the caller (the CLI owns
credentials, mirrors and TLS options) and passed in as a value; it is only
needed when the location is a registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

from . import location
from . import platform as plat
from .errors import ArchportError
from .location import ArchiveLocation, LayoutLocation, Location, RegistryLocation
from .oci import Descriptor, Index, Manifest
from .oci.config import read_config
from .reference import Reference
from .store import Sink, Source

if TYPE_CHECKING:  # the registry stack is imported only when a registry is opened
    from .registry.client import Client

#: What names an image location.
Where = Union[str, Location, Reference]


def locate(where: Where) -> Location:
    """The parsed location ``where`` names."""
    if isinstance(where, Reference):
        return RegistryLocation(where)
    if isinstance(where, (RegistryLocation, LayoutLocation, ArchiveLocation)):
        return where
    return location.parse(where)


def _client(registry: "Client | None", loc: RegistryLocation) -> "Client":
    if registry is None:
        raise ArchportError(f"{loc}: opening a registry location needs a registry client")
    return registry


def open_source(where: Where, registry: "Client | None" = None) -> Source:
    """The read side of ``where``.  Archive sources hold a temporary
    directory when compressed: close them (``with``) when done."""
    # Each kind's module is imported when that kind is opened: a copy between
    # layouts never loads httpx, the registry stack or the archive codecs.
    loc = locate(where)
    if isinstance(loc, RegistryLocation):
        from .registry.store import RegistrySource
        return RegistrySource(_client(registry, loc), loc.ref)
    if isinstance(loc, LayoutLocation):
        from .layout import LayoutSource
        return LayoutSource(loc.path, loc.tag)
    if loc.kind == "oci-archive":
        from .archive import OciArchiveSource
        return OciArchiveSource(loc.path, loc.name)
    from .archive import DockerArchiveSource
    return DockerArchiveSource(loc.path, loc.name)


def open_sink(where: Where, registry: "Client | None" = None, *, source: Where | None = None) -> Sink:
    """The write side of ``where``.  ``source`` is where the image comes from,
    when known: a registry sink on the same registry mounts blobs from it
    (distribution spec, "Mounting a blob from another repository"), and a
    ``docker-archive`` without a name takes the source's."""
    # Lazy per kind, as in open_source.
    loc = locate(where)
    src = locate(source) if source is not None else None
    if isinstance(loc, RegistryLocation):
        from .registry.store import RegistrySink
        mount_from = None
        if isinstance(src, RegistryLocation) and src.ref.domain == loc.ref.domain \
                and src.ref.path != loc.ref.path:
            mount_from = src.ref
        return RegistrySink(_client(registry, loc), loc.ref, mount_from=mount_from)
    if isinstance(loc, LayoutLocation):
        from .layout import LayoutSink
        return LayoutSink(loc.path, loc.tag)
    if loc.kind == "oci-archive":
        from .archive import OciArchiveSink
        return OciArchiveSink(loc.path, loc.name)
    from .archive import DockerArchiveSink
    name = loc.name
    if name is None and isinstance(src, RegistryLocation):
        name = src.ref.normalized()
    return DockerArchiveSink(loc.path, name)


def offered_platforms(ref: Reference, registry: "Client") -> list:
    """The platforms a registry tag offers: an index's entries (attestation
    entries, ``unknown/unknown``, left out), or a single manifest's platform
    from its config.  The client applies its ``--mirror`` settings."""
    m = registry.get_manifest(ref)
    if isinstance(m, Index):
        return [p for p in m.platforms() if p.os != "unknown"]
    cfg = read_config(open_source(ref, registry), m)
    if not cfg.architecture:
        return []
    return [plat.normalize(plat.Platform(cfg.os or "linux", cfg.architecture, cfg.variant or ""))]


def reference_of(where: Where) -> Reference | None:
    """The registry reference ``where`` names, or ``None`` for a layout or archive."""
    loc = locate(where)
    return loc.ref if isinstance(loc, RegistryLocation) else None


class Pinned:
    """A :class:`~archport.store.Source` whose top is one given manifest of
    another source: one platform's image, to check, smoke or copy alone."""

    def __init__(self, source: Source, top: Manifest | Index) -> None:
        self.source, self.top, self.name = source, top, source.name

    def resolve(self) -> Manifest | Index:
        return self.top

    def manifest(self, desc: Descriptor) -> Manifest | Index:
        return self.source.manifest(desc)

    def open_blob(self, desc: Descriptor):
        return self.source.open_blob(desc)


__all__ = ["Where", "locate", "open_source", "open_sink", "reference_of", "Pinned"]
