"""Image locations, named with skopeo's transport syntax.

    rancher/mirrored-pause:3.6        a registry (``docker://`` prefix optional)
    oci:DIR[:TAG]                     an OCI image layout directory
    oci-archive:FILE[:TAG]            a tar of an OCI layout
    docker-archive:FILE[:REF]         a ``docker save`` tarball

Pure parsing: opening a location is the CLI's business (it owns the clients).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import reference
from .errors import BadReference, UnknownTransport
from .reference import Reference

KNOWN = ("docker", "oci", "oci-archive", "docker-archive")
# skopeo transports we recognise but do not implement: say so instead of
# misreading them as a registry reference.
UNSUPPORTED = ("dir", "docker-daemon", "containers-storage", "ostree", "sif", "tarball")


@dataclass(frozen=True, slots=True)
class RegistryLocation:
    ref: Reference

    def __str__(self) -> str:
        return str(self.ref)


@dataclass(frozen=True, slots=True)
class LayoutLocation:
    path: str
    tag: str | None = None

    def __str__(self) -> str:
        return f"oci:{self.path}" + (f":{self.tag}" if self.tag else "")


@dataclass(frozen=True, slots=True)
class ArchiveLocation:
    kind: str  # "oci-archive" | "docker-archive"
    path: str
    name: str | None = None  # tag (oci-archive) or image reference (docker-archive)

    def __str__(self) -> str:
        return f"{self.kind}:{self.path}" + (f":{self.name}" if self.name else "")


Location = RegistryLocation | LayoutLocation | ArchiveLocation

_TRANSPORT = re.compile(r"^([a-z][a-z0-9-]*):(.*)$", re.S)
# image-layout.md, "org.opencontainers.image.ref.name": components of
# alphanumerics joined by separators, '/' between components.
_TAG = re.compile(r"^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$")


def _split_path_tag(rest: str) -> tuple[str, str | None]:
    # oci:DIR:REF — as skopeo does, the path ends at the first ':' (REF may
    # itself hold ':' and '/', e.g. rancher/mirrored-pause:3.6).
    path, sep, tag = rest.partition(":")
    return (path, tag) if sep and tag else (path if sep else rest, None)


def parse(text: str) -> Location:
    if not text:
        raise BadReference("empty image location")
    if text.startswith("docker://"):
        return RegistryLocation(reference.parse(text[len("docker://"):]))
    m = _TRANSPORT.match(text)
    if m:
        transport, rest = m.group(1), m.group(2)
        if transport == "oci":
            path, tag = _split_path_tag(rest)
            if not path:
                raise BadReference(f"{text!r}: oci: needs a directory")
            if tag is not None and not _TAG.match(tag):
                raise BadReference(f"{text!r}: invalid reference name {tag!r}")
            return LayoutLocation(path, tag)
        if transport == "oci-archive":
            path, tag = _split_path_tag(rest)
            if not path:
                raise BadReference(f"{text!r}: oci-archive: needs a file")
            return ArchiveLocation("oci-archive", path, tag)
        if transport == "docker-archive":
            # docker-archive:FILE[:REF] where REF may itself contain ':'
            path, _, name = rest.partition(":")
            if not path:
                raise BadReference(f"{text!r}: docker-archive: needs a file")
            if name:
                name = reference.parse(name).normalized()
            return ArchiveLocation("docker-archive", path, name or None)
        if transport in UNSUPPORTED:
            raise UnknownTransport(f"transport {transport!r} is not supported; use a registry reference, oci:, oci-archive: or docker-archive:")
        # 'name:tag' and 'host:port/…' also match; they are registry references.
        # Anything else that looks like 'word:/path' or 'word://' is a transport.
        if rest.startswith("/") or rest.startswith("."):
            raise UnknownTransport(f"unknown transport {transport!r} in {text!r}; known: {', '.join(KNOWN)}")
    if "://" in text:
        raise UnknownTransport(f"unknown transport in {text!r}; known: {', '.join(KNOWN)}")
    return RegistryLocation(reference.parse(text))
