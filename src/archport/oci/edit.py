"""Editing manifests and indexes as data.

Adding a platform: the existing index document is edited, not rebuilt: every
existing descriptor, annotation and unknown field stays as it was (JSON-equal),
so every existing child keeps its digest; only the index itself gets a new
digest, which is unavoidable.  A single-manifest tag becomes an index of both.
A Docker manifest list takes Docker children only (Docker's schema 2 has no
OCI types), so an OCI child joining one is rewritten as a Docker manifest
(:func:`to_docker`): config and layers keep their bytes and digests, only the
child manifest is new, as when ``port`` builds into a Docker list.

:func:`oci_view` is the OCI image index a layout names next to a Docker-typed
image, so that readers which look names up among OCI entries only find it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..errors import ArchportError, BadInput
from ..platform import Platform
from . import mediatypes as mt
from .descriptor import Descriptor
from .manifest import Index, Manifest, dump_json, parse_manifest


class PlatformPresent(ArchportError):
    def __init__(self, platform: Platform, digest: str) -> None:
        super().__init__(f"the index already has {platform} ({digest}); pass --replace to swap it")
        self.platform, self.digest = platform, digest


#: Layer media types with the same bytes in both families (image-spec
#: media-types.md, "Compatibility Matrix").  zstd layers have no Docker type.
LAYER_TO_OCI = {mt.DOCKER_LAYER_GZIP: mt.OCI_LAYER_GZIP,
                "application/vnd.docker.image.rootfs.diff.tar": mt.OCI_LAYER,
                mt.DOCKER_FOREIGN_LAYER: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"}
LAYER_TO_DOCKER = {v: k for k, v in LAYER_TO_OCI.items()}


@dataclass(frozen=True, slots=True)
class Edit:
    index: Index
    added: Descriptor
    replaced: tuple[Descriptor, ...]
    kept: tuple[Descriptor, ...]
    child: Manifest          # the manifest ``added`` names (rewritten to the index's family when needed)


def add_platform(top: Manifest | Index, top_platform: Platform | None, child: Manifest,
                 platform: Platform, *, replace: bool = False) -> Edit:
    """Return the new index with ``child`` (for ``platform``) added to ``top``.

    ``top_platform`` is needed only when ``top`` is a single manifest (its
    platform comes from its config, which the caller reads).  An OCI
    ``child`` joining a Docker list is rewritten with :func:`to_docker`."""
    if mt.family_of(top.media_type) == "docker" and mt.family_of(child.media_type) == "oci":
        child = to_docker(child, what=f"the {platform} image")
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
    return Edit(index, new_entry, tuple(replaced), tuple(kept), child)


def to_docker(m: Manifest, what: str = "the image") -> Manifest:
    """``m`` (an OCI image manifest) as a Docker schema 2 manifest over the
    same config and layer blobs.  Refused (BadInput, naming the reason) when a
    part has no Docker media type: zstd layers, a non-image config (an
    artifact), or a ``subject`` (referrers have no Docker equivalent)."""
    doc = json.loads(m.raw)
    if m.config.media_type != mt.OCI_CONFIG:
        raise BadInput(f"{what} has config type {m.config.media_type}, which a Docker manifest list cannot hold; "
                       "push it to an OCI index instead")
    if "subject" in doc:
        raise BadInput(f"{what} refers to another manifest (subject), which a Docker manifest cannot carry")
    layers = []
    for raw_layer, d in zip(doc.get("layers", []), m.layers):
        media = LAYER_TO_DOCKER.get(d.media_type)
        if media is None:
            raise BadInput(f"{what} has layer {d.digest} of type {d.media_type}, which a Docker manifest cannot "
                           "describe; a Docker manifest list takes Docker (gzip or plain tar) layers only")
        layers.append({**raw_layer, "mediaType": media})
    out = {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
           "config": {**doc["config"], "mediaType": mt.DOCKER_CONFIG}, "layers": layers}
    if doc.get("annotations"):
        out["annotations"] = doc["annotations"]
    got = parse_manifest(dump_json(out), mt.DOCKER_MANIFEST)
    assert isinstance(got, Manifest)
    return got


def oci_view(top: Manifest | Index, platform: Platform | None) -> Index:
    """An OCI image index with the children of the Docker-typed ``top``.

    containers/image (skopeo) resolves ``oci:DIR:NAME`` among ``index.json``
    entries typed as OCI manifests or indexes only (oci/layout reference.go,
    getManifestDescriptor), so a layout names this view beside ``top``.  A
    Docker list's entries are kept verbatim, in order, with its annotations:
    every image keeps its manifest digest.  A single Docker manifest becomes
    the one entry (``platform`` from its config, when known)."""
    if isinstance(top, Index):
        doc = json.loads(top.raw)
        doc["mediaType"] = mt.OCI_INDEX
    else:
        doc = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [top.descriptor(platform).to_dict()]}
    view = parse_manifest(dump_json(doc), mt.OCI_INDEX)
    assert isinstance(view, Index)
    return view
