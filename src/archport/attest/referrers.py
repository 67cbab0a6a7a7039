"""Attachments as OCI 1.1 referrers (pure: manifests and referrer indexes as data).

Each attachment becomes one image manifest in the shape image-spec v1.1
("Guidelines for artifact usage") gives artifacts: ``artifactType`` set, the
config the empty descriptor (``application/vnd.oci.empty.v1+json``, the two
bytes ``{}``), one layer holding the document, and ``subject`` the
descriptor of the platform manifest it describes.  ORAS and cosign attach
theirs the same way, so their ``discover``/``tree`` commands list ours.

A registry that answers ``GET /v2/<name>/referrers/<digest>`` indexes the
referrers itself.  One that does not (distribution 2.8, Debian's
docker-registry) gets the distribution-spec v1.1 "referrers tag schema":
an image index tagged ``<alg>-<hex>`` of the subject's digest, listing a
descriptor of every referrer (with its ``artifactType`` and annotations),
kept up to date by read-modify-write.  A layout holds the same tag as an
``index.json`` entry.  Everything here is deterministic: the same
attachments and subject give the same bytes.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ..oci import Descriptor, Index, Manifest, mediatypes as mt, parse_manifest
from ..oci.digest import Digest
from ..oci.manifest import dump_json
from .model import Attachment

#: image-spec v1.1 manifest.md, "Guidance for an empty descriptor".
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_DATA = b"{}"
EMPTY = Descriptor(EMPTY_MEDIA_TYPE, Digest.of(EMPTY_DATA), len(EMPTY_DATA))
#: distribution-spec v1.1 "Referrers Tag Schema": ``<alg>-<ref>``, each part truncated.
_ALG_MAX, _REF_MAX = 32, 64


@dataclass(frozen=True, slots=True)
class Referrer:
    """One attachment as a referrer manifest, with the bytes of the blobs it names."""

    manifest: Manifest
    artifact_type: str
    blobs: tuple[tuple[Descriptor, bytes], ...]     # (config, layer), each with its bytes

    def descriptor(self) -> Descriptor:
        """The entry a referrers index lists: the manifest's descriptor plus
        its ``artifactType`` and annotations (distribution-spec v1.1, "Listing Referrers")."""
        return listing_entry(self.manifest, self.artifact_type)


def listing_entry(m: Manifest, artifact_type: str) -> Descriptor:
    d: dict[str, Any] = {"mediaType": m.media_type, "digest": str(m.digest), "size": len(m.raw),
                         "artifactType": artifact_type}
    if m.annotations:
        d["annotations"] = dict(m.annotations)
    return Descriptor.from_dict(d)


def subject_of(m: Manifest | Index) -> Descriptor | None:
    """The ``subject`` a manifest names, if any."""
    s = json.loads(m.raw).get("subject")
    return Descriptor.from_dict(s) if isinstance(s, Mapping) else None


def artifact_type_of(m: Manifest) -> str:
    """image-spec: ``artifactType``, else the config's media type (unless it is the empty one)."""
    at = json.loads(m.raw).get("artifactType")
    if isinstance(at, str) and at:
        return at
    return "" if m.config.media_type == EMPTY_MEDIA_TYPE else m.config.media_type


def build(att: Attachment, subject: Descriptor) -> Referrer:
    """The referrer manifest for ``att`` whose subject is ``subject``."""
    layer_ann = dict(att.annotations)
    layer = {"mediaType": att.media_type, "digest": str(Digest.of(att.data)), "size": len(att.data)}
    if layer_ann:
        layer["annotations"] = layer_ann
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "artifactType": att.artifact_type,
        # The two bytes travel inline too ("data"), as the spec suggests for the empty descriptor.
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": str(EMPTY.digest), "size": EMPTY.size,
                   "data": base64.b64encode(EMPTY_DATA).decode()},
        "layers": [layer],
        "subject": {"mediaType": subject.media_type, "digest": str(subject.digest), "size": subject.size},
    }
    if layer_ann:
        # On the manifest too: a referrers listing carries manifest annotations,
        # so a reader can pick the predicate type without fetching anything.
        doc["annotations"] = layer_ann
    raw = dump_json(doc)
    m = parse_manifest(raw, mt.OCI_MANIFEST)
    assert isinstance(m, Manifest)
    return Referrer(m, att.artifact_type, ((EMPTY, EMPTY_DATA), (Descriptor.from_dict(layer), att.data)))


def build_all(attachments: Iterable[Attachment], subject: Descriptor) -> tuple[Referrer, ...]:
    return tuple(build(a, subject) for a in attachments)


def fallback_tag(digest: Digest | str) -> str:
    """The referrers tag of a subject: ``sha256:abc…`` → ``sha256-abc…``."""
    d = digest if isinstance(digest, Digest) else Digest.parse(digest)
    return f"{d.algorithm[:_ALG_MAX]}-{d.hex[:_REF_MAX]}"


def merged(existing: Index | None, entries: Sequence[Descriptor]) -> Index | None:
    """The referrers index with ``entries`` added (read-modify-write of the
    fallback tag): existing entries are kept verbatim and first, a digest
    already listed is not listed twice.  None when nothing changes."""
    doc: dict[str, Any] = existing.document() if existing is not None else \
        {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}
    present = {str(e.get("digest")) for e in doc.get("manifests", []) if isinstance(e, Mapping)}
    new = [e for e in entries if str(e.digest) not in present]
    if existing is not None and not new:
        return None
    doc["manifests"] = list(doc.get("manifests", [])) + [e.to_dict() for e in new]
    raw = dump_json(doc)
    idx = parse_manifest(raw, mt.OCI_INDEX)
    assert isinstance(idx, Index)
    return idx


def listed(index: Index | None, kind: str = "") -> tuple[Descriptor, ...]:
    """The referrer descriptors of a listing, optionally only one ``artifactType``."""
    if index is None:
        return ()
    return tuple(d for d in index.manifests if not kind or artifact_type(d) == kind)


def artifact_type(d: Descriptor) -> str:
    return str((d.raw or {}).get("artifactType") or "")
