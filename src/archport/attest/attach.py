"""Writing referrers next to their subject: registry, OCI layout, airgap archive (thin I/O).

Order, for every kind of place (the same rule as :mod:`archport.write`):
the referrers' blobs, then their manifests by digest, then the listing (a
registry with the referrers API lists them itself; elsewhere the referrers
tag ``sha256-<hex>``, read, merged and written back), and the caller moves
the image's own tag only after that.  A registry's listing is read back
afterwards: every referrer written must be in it, or the attach fails.

The referrers tag is shared by every tool that attaches to the same subject
(cosign, oras, buildx): the read-modify-write keeps each entry it finds
verbatim and retries when another writer moved the tag in between.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Sequence

from .. import reference
from ..airgap import IMAGE_NAME
from ..errors import ArchportError
from ..layout import INDEX_FILE, REF_NAME, DirFiles, LayoutReader, LayoutSink, read_index
from ..oci import Descriptor, Index, Manifest
from ..registry.store import RegistrySink
from ..store import Sink, Source
from . import read
from .referrers import Referrer, artifact_type, artifact_type_of, fallback_tag, merged

_RMW_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class Attached:
    """What one attach wrote: the referrer manifests, how they are listed, and the bytes they cost."""

    subject: str
    referrers: tuple[str, ...]
    listing: str               # "referrers API" | "tag sha256-…"
    bytes: int                 # manifests and blobs of the referrers (the listing index not counted)

    def to_dict(self) -> dict:
        return {"subject": self.subject, "referrers": list(self.referrers), "listing": self.listing,
                "bytes": self.bytes}


def _opener(data: bytes):
    @contextmanager
    def opener() -> Iterator[Iterator[bytes]]:
        yield iter((data,))
    return opener


def attach(sink: Sink, subject: Descriptor, refs: Sequence[Referrer], *, name: str | None = None) -> Attached:
    """Write ``refs`` (whose subject is ``subject``) to ``sink`` and list them.
    ``name``: for an airgap archive, the image's full name (the referrers
    tag is named ``<repository>:sha256-<hex>`` there)."""
    size = 0
    for r in refs:
        for desc, data in r.blobs:
            sink.put_blob(desc, _opener(data))
            size += len(data)
    for r in refs:
        if not sink.has_manifest(r.manifest.descriptor()):
            sink.put_manifest(r.manifest)
        size += len(r.manifest.raw)
    entries = [r.descriptor() for r in refs]
    digests = tuple(str(r.manifest.digest) for r in refs)
    if isinstance(sink, RegistrySink):
        listing = _registry(sink, subject, entries)
    else:
        listing = _layout(sink, subject, entries, name)
    return Attached(str(subject.digest), digests, listing, size)


# -- registries ------------------------------------------------------------------

def _registry(sink: RegistrySink, subject: Descriptor, entries: list[Descriptor]) -> str:
    client, repo = sink.client, sink.ref
    wanted = {str(e.digest) for e in entries}
    api = client.referrers(repo, str(subject.digest), use_mirrors=False)
    if api is not None:
        # The registry indexes manifests with a subject on PUT (distribution-spec
        # v1.1: it answers OCI-Subject); nothing to maintain, only to check.
        if gone := wanted - {str(d.digest) for d in api.manifests}:
            raise ArchportError(f"{repo.repository}: the registry's referrers of {subject.digest} lack "
                                f"{', '.join(sorted(gone))} after the push")
        return "referrers API"
    tag = fallback_tag(subject.digest)
    tagged = repo.with_tag(tag)
    for _ in range(_RMW_ATTEMPTS):
        current = client.head_manifest(tagged, use_mirrors=False)
        existing = None
        if current is not None:
            got = client.get_manifest(repo.with_digest(str(current.digest)))
            existing = got if isinstance(got, Index) else None
        new = merged(existing, entries)
        if new is not None:
            # Guard against a writer that moved the tag since our read; the
            # registry has no compare-and-swap, so re-read and retry.
            again = client.head_manifest(tagged, use_mirrors=False)
            if (again.digest if again else None) != (current.digest if current else None):
                continue
            client.put_manifest(repo.with_digest(str(new.digest)), new)
            client.put_manifest(tagged, new)
        after = client.get_manifest(tagged)
        if isinstance(after, Index) and wanted <= {str(d.digest) for d in after.manifests}:
            return f"tag {tag}"
    raise ArchportError(f"{repo.repository}:{tag}: the referrers tag kept changing under another writer; "
                        f"run again to add {len(entries)} referrer(s)")


# -- layouts and airgap archives ---------------------------------------------------

def _layout(sink: Sink, subject: Descriptor, entries: list[Descriptor], name: str | None) -> str:
    """A layout (or the layout inside an airgap archive) holds the referrers
    tag as an ``index.json`` entry named ``sha256-<hex>``: ORAS finds the
    referrers by walking it, regctl by the tag."""
    layout = sink if isinstance(sink, LayoutSink) else getattr(sink, "layout", None)
    if not isinstance(layout, LayoutSink):
        raise ArchportError(f"{sink.name}: cannot hold referrers")
    tag = fallback_tag(subject.digest)
    key = tag if name is None else f"{reference.parse(name).repository}:{tag}"
    existing = _layout_listing(layout, tag, key)
    new = merged(existing, entries) or existing
    assert new is not None
    layout.put_manifest(new)
    ann = {REF_NAME: tag}
    if name is not None:
        ann[IMAGE_NAME] = key
    layout.record(new.descriptor().with_annotations(ann), key)
    return f"tag {tag}"


def _layout_listing(layout: LayoutSink, tag: str, key: str) -> Index | None:
    """The referrers index the layout holds for ``tag``: one this sink is about
    to commit, else the committed ``index.json``'s."""
    reader = LayoutReader(DirFiles(layout.root), None, layout.name)
    for d in layout.pending():
        if d.annotations.get(REF_NAME) == tag and d.annotations.get(IMAGE_NAME, tag) in (tag, key):
            got = reader.manifest(d)
            return got if isinstance(got, Index) else None
    if not (layout.root / INDEX_FILE).exists():
        return None
    for e in read_index(DirFiles(layout.root))["manifests"]:
        if isinstance(e, dict) and (e.get("annotations") or {}).get(REF_NAME) == tag:
            got = reader.manifest(Descriptor.from_dict(e))
            return got if isinstance(got, Index) else None
    return None


# -- copying -----------------------------------------------------------------------

def copy_referrers(source: Source, found: Sequence[tuple[Descriptor, Manifest]], subject: Descriptor,
                   sink: Sink, *, name: str | None = None) -> Attached | None:
    """Copy referrers already read from ``source`` (e.g. by :mod:`.read`) to ``sink``."""
    if not found:
        return None
    refs = []
    for entry, m in found:
        blobs = []
        for b in m.blobs():
            with source.open_blob(b) as chunks:
                blobs.append((b, b"".join(chunks)))
        refs.append(Referrer(m, artifact_type(entry) or artifact_type_of(m), tuple(blobs)))
    return attach(sink, subject, refs, name=name)


def carry(source: Source, sink: Sink, name: str, platforms=None) -> list[Attached]:
    """The referrers of each image ``source`` names (only ``platforms``' when
    given), copied to ``sink`` next to the images (``airgap --attestations``,
    ``port --airgap-attest``)."""
    top = source.resolve()
    if isinstance(top, Index):
        subjects = [d for d in top.manifests if d.platform is not None
                    and "unknown" not in (d.platform.os, d.platform.architecture)
                    and (not platforms or any(d.platform.matches(p) for p in platforms))]
    else:
        subjects = [top.descriptor()]
    out = []
    for subject in subjects:
        entries, _ = read.listing(source, subject)
        got = copy_referrers(source, [(e, source.manifest(e)) for e in entries], subject, sink, name=name)
        if got is not None:
            out.append(got)
    return out
