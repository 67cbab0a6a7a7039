"""Reading attachments back: a platform's referrers, wherever the image is, and what they say.

Listing, by where the image is: a registry's referrers API, else its
referrers tag ``sha256-<hex>`` (distribution-spec v1.1); a layout's
``index.json`` entry of that tag, and any other ``index.json`` entry whose
manifest names the subject (how ORAS writes into layouts).  Reading a
referrer fetches its manifest by digest and its one layer, both verified.
:func:`provenance` turns an in-toto statement with a SLSA v1 predicate
into the few facts ``inspect --provenance`` shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import ArchportError, BadInput, NotFound
from ..layout import REF_NAME, LayoutReader
from ..oci import Descriptor, Index, Manifest
from ..oci.manifest import load_object
from ..registry.store import RegistrySource
from ..store import Source
from .model import IN_TOTO, SPDX_JSON
from .referrers import artifact_type, artifact_type_of, fallback_tag, subject_of
from .sign import BUNDLE_V03

MAX_DOCUMENT = 64 << 20


@dataclass(frozen=True, slots=True)
class Found:
    """One referrer: its listing entry, manifest and document bytes (its first layer)."""

    entry: Descriptor
    manifest: Manifest
    artifact_type: str
    data: bytes = field(repr=False)


def listing(source: Source, subject: Descriptor) -> tuple[tuple[Descriptor, ...], str]:
    """The referrer descriptors of ``subject`` in ``source``, and how they were found."""
    tag = fallback_tag(subject.digest)
    if isinstance(source, RegistrySource):
        api = source.client.referrers(source.ref, str(subject.digest))
        if api is not None:
            return api.manifests, "referrers API"
        try:
            idx = source.client.get_manifest(source.ref.with_tag(tag))
        except NotFound:
            return (), f"tag {tag} (absent)"
        return (idx.manifests if isinstance(idx, Index) else ()), f"tag {tag}"
    if isinstance(source, LayoutReader):
        return _layout_listing(source, subject, tag)
    return (), f"{source.name} holds no referrers"


def _layout_listing(source: LayoutReader, subject: Descriptor, tag: str) -> tuple[tuple[Descriptor, ...], str]:
    found: dict[str, Descriptor] = {}
    for e in source.entries():
        if e.annotations.get(REF_NAME) == tag:
            idx = source.manifest(e)
            if isinstance(idx, Index):
                for d in idx.manifests:
                    found.setdefault(str(d.digest), d)
        elif REF_NAME not in e.annotations and e.media_type.endswith("manifest.v1+json"):
            m = source.manifest(e)
            s = subject_of(m)
            if s is not None and s.digest == subject.digest and isinstance(m, Manifest):
                found.setdefault(str(e.digest), e)
    return tuple(found.values()), f"layout tag {tag}"


def fetch(source: Source, entry: Descriptor) -> Found:
    m = source.manifest(entry)
    if not isinstance(m, Manifest) or not m.layers:
        raise ArchportError(f"referrer {entry.digest} is not an artifact manifest with a layer")
    layer = m.layers[0]
    if layer.size > MAX_DOCUMENT:
        raise ArchportError(f"referrer {entry.digest}: its document is {layer.size} bytes, more than {MAX_DOCUMENT}")
    with source.open_blob(layer) as chunks:
        data = b"".join(chunks)
    return Found(entry, m, artifact_type(entry) or artifact_type_of(m), data)


def attachments(source: Source, subject: Descriptor) -> tuple[tuple[Found, ...], str]:
    entries, how = listing(source, subject)
    return tuple(fetch(source, e) for e in entries), how


def pick(found: tuple[Found, ...], kind: str) -> Found | None:
    return next((f for f in found if f.artifact_type == kind), None)


def sbom(found: tuple[Found, ...]) -> dict | None:
    f = pick(found, SPDX_JSON)
    return load_object(f.data, f"SBOM {f.entry.digest}") if f else None


def statement(found: tuple[Found, ...]) -> dict | None:
    f = pick(found, IN_TOTO)
    return load_object(f.data, f"provenance {f.entry.digest}") if f else None


def signature(found: tuple[Found, ...]) -> Found | None:
    return pick(found, BUNDLE_V03)


def provenance(doc: dict[str, Any]) -> dict[str, Any]:
    """Who built it, how, from what, with which fixups and substitutions
    (SLSA provenance v1: ``buildDefinition`` and ``runDetails``)."""
    if not isinstance(doc.get("predicate"), dict):
        raise BadInput("the statement has no predicate")
    pred = doc["predicate"]
    bd = pred.get("buildDefinition") or {}
    rd = pred.get("runDetails") or {}
    ext = bd.get("externalParameters") or {}
    builder = rd.get("builder") or {}
    deps = bd.get("resolvedDependencies") or []
    return {
        "predicateType": doc.get("predicateType", ""),
        "subject": [f"{s.get('name', '')}@sha256:{(s.get('digest') or {}).get('sha256', '')}"
                    for s in doc.get("subject") or [] if isinstance(s, dict)],
        "builder": builder.get("id", ""),
        "builderVersion": builder.get("version") or {},
        "buildType": bd.get("buildType", ""),
        "upstream": ext.get("upstream") or ext.get("source") or "",
        "platform": ext.get("platform", ""),
        "profile": ext.get("profile", "") or ext.get("isaProfile", ""),
        "catalogEntry": ext.get("catalogEntry", "") or ext.get("catalog", ""),
        "fixups": ext.get("fixups") or [],
        "substitutions": ext.get("substitutions") or [],
        "dependencies": [_dep(d) for d in deps if isinstance(d, dict)],
    }


def _dep(d: dict) -> str:
    digest = d.get("digest") or {}
    first = next(iter(sorted(digest.items())), None)
    return (d.get("uri") or d.get("name") or "?") + (f" {first[0]}:{first[1]}" if first else "")


def dumps(doc: Any) -> str:
    return json.dumps(doc, indent=2, sort_keys=True)
