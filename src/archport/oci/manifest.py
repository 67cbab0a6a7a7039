"""Image manifests and indexes, parsed next to their raw bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import BadInput, UnsupportedMediaType
from ..platform import Platform
from . import mediatypes as mt
from .descriptor import Descriptor
from .digest import Digest


class _Stored:
    """What manifests and indexes share: raw bytes, and a digest over them."""

    __slots__ = ()

    def __post_init__(self) -> None:
        if self.digest is None:
            object.__setattr__(self, "digest", Digest.of(self.raw))

    def descriptor(self, platform: Platform | None = None) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.raw), platform)


@dataclass(frozen=True, slots=True)
class Manifest(_Stored):
    """A single-platform image manifest (OCI or Docker schema 2)."""

    raw: bytes
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    digest: Digest = field(default=None)  # type: ignore[assignment]

    is_index = False

    def blobs(self) -> tuple[Descriptor, ...]:
        """Config first, then layers (the order uploads go in)."""
        return (self.config, *self.layers)


@dataclass(frozen=True, slots=True)
class Index(_Stored):
    """A multi-platform index (OCI image index or Docker manifest list)."""

    raw: bytes
    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    digest: Digest = field(default=None)  # type: ignore[assignment]

    is_index = True

    def platforms(self) -> list[Platform]:
        return [d.platform for d in self.manifests if d.platform is not None]

    def find(self, platform: Platform) -> Descriptor | None:
        for d in self.manifests:
            if d.platform is not None and d.platform.matches(platform) and mt.is_image(d.media_type):
                return d
        return None

    def document(self) -> dict[str, Any]:
        """The parsed JSON, for editing as data (unknown fields kept)."""
        return json.loads(self.raw)


def load_json(raw: bytes, what: str) -> Any:
    """``raw`` parsed as JSON: archport's one reader of the JSON documents an
    image is made of (manifests, configs, ``index.json``, ``manifest.json``).
    Bytes that are not JSON are bad input naming ``what``."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadInput(f"{what} is not valid JSON: {e}") from None
    except RecursionError:  # the decoder recurses once per nesting level
        raise BadInput(f"{what} is not valid JSON: nested too deep to read") from None


def load_object(raw: bytes, what: str) -> dict[str, Any]:
    """:func:`load_json`, and the document must be a JSON object."""
    doc = load_json(raw, what)
    if not isinstance(doc, dict):
        raise BadInput(f"{what} is not a JSON object")
    return doc


def parse_manifest(raw: bytes, media_type: str | None = None, digest: Digest | None = None) -> Manifest | Index:
    """Parse ``raw`` as the given media type (or the one it declares).

    A Content-Type of ``application/json`` or none falls back to the document's
    own ``mediaType``, and then to its shape (``manifests`` vs ``layers``), as
    the OCI spec allows the field to be absent.
    """
    doc = load_object(raw, "manifest")
    declared = doc.get("mediaType")
    mtype = media_type.split(";")[0].strip() if media_type else ""
    if mtype in ("", "application/json", "text/plain", "application/octet-stream"):
        mtype = declared or ""
    if not mtype:
        if "manifests" in doc:
            mtype = mt.OCI_INDEX
        elif "layers" in doc:
            mtype = mt.OCI_MANIFEST
    if mtype in (mt.DOCKER_SCHEMA1, mt.DOCKER_SCHEMA1_SIGNED) or doc.get("schemaVersion") == 1:
        raise UnsupportedMediaType("Docker schema 1 manifests are not supported (deprecated since 2017); re-push the image with a current client")
    if mtype not in mt.MANIFESTS:
        raise UnsupportedMediaType(f"unsupported manifest media type {mtype or '(none)'!r}")
    ann = MappingProxyType(dict(doc.get("annotations") or {}))
    if mt.is_index(mtype):
        entries = doc.get("manifests")
        if not isinstance(entries, list):
            raise BadInput("index has no 'manifests' list")
        return Index(raw, mtype, tuple(Descriptor.from_dict(d) for d in entries), ann, digest)
    if "config" not in doc or not isinstance(doc.get("layers"), list):
        raise BadInput("image manifest lacks 'config' or 'layers'")
    return Manifest(
        raw, mtype, Descriptor.from_dict(doc["config"]),
        tuple(Descriptor.from_dict(d) for d in doc["layers"]), ann, digest,
    )


def dump_json(doc: Mapping[str, Any]) -> bytes:
    """Serialize a document *we* author (never someone else's manifest)."""
    return json.dumps(doc, indent=2, ensure_ascii=False).encode() + b"\n"


def build_index(media_type: str, entries: list[Descriptor], annotations: Mapping[str, str] | None = None) -> Index:
    """A new index over ``entries`` (used when selecting platforms)."""
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type, "manifests": [e.to_dict() for e in entries]}
    if annotations:
        doc["annotations"] = dict(annotations)
    raw = dump_json(doc)
    return Index(raw, media_type, tuple(entries), MappingProxyType(dict(annotations or {})))
