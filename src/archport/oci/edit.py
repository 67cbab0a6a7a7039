"""Adding a platform to a multi-arch index, as data.

The existing index document is edited, not rebuilt: every existing
descriptor, annotation and unknown field stays as it was (JSON-equal), so
every existing child keeps its digest; only the index itself gets a new
digest, which is unavoidable.  A single-manifest tag becomes an index of both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import ArchportError
from ..platform import Platform
from . import mediatypes as mt
from .descriptor import Descriptor
from .manifest import Index, Manifest, dump_json, parse_manifest


class PlatformPresent(ArchportError):
    def __init__(self, platform: Platform, digest: str) -> None:
        super().__init__(f"the index already has {platform} ({digest}); pass --replace to swap it")
        self.platform, self.digest = platform, digest


@dataclass(frozen=True, slots=True)
class Edit:
    index: Index
    added: Descriptor
    replaced: tuple[Descriptor, ...]
    kept: tuple[Descriptor, ...]


def add_platform(top: Manifest | Index, top_platform: Platform | None, child: Manifest,
                 platform: Platform, *, replace: bool = False) -> Edit:
    """Return the new index with ``child`` (for ``platform``) added to ``top``.

    ``top_platform`` is needed only when ``top`` is a single manifest (its
    platform comes from its config, which the caller reads)."""
    new_entry = child.descriptor(platform)
    if isinstance(top, Index):
        doc = json.loads(top.raw)
        kept, replaced, entries = [], [], []
        for raw_entry, d in zip(doc.get("manifests", []), top.manifests):
            if d.platform is not None and d.platform.matches(platform) and mt.is_image(d.media_type):
                if not replace:
                    raise PlatformPresent(platform, str(d.digest))
                replaced.append(d)
                continue
            entries.append(raw_entry)
            kept.append(d)
        entries.append(new_entry.to_dict())
        doc["manifests"] = entries
        media_type = top.media_type
    else:
        if top_platform is None:
            raise ArchportError("cannot add to a single manifest whose platform is unknown")
        if top_platform.matches(platform):
            if not replace:
                raise PlatformPresent(platform, str(top.digest))
            kept, replaced = [], [top.descriptor(top_platform)]
        else:
            kept, replaced = [top.descriptor(top_platform)], []
        media_type = mt.index_type_for(mt.family_of(top.media_type))
        doc = {"schemaVersion": 2, "mediaType": media_type,
               "manifests": [d.to_dict() for d in kept] + [new_entry.to_dict()]}
    raw = dump_json(doc)
    index = parse_manifest(raw, media_type)
    assert isinstance(index, Index)
    return Edit(index, new_entry, tuple(replaced), tuple(kept))
