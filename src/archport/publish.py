"""Append a platform to a multi-arch tag in a registry (``index add``).

Order (:mod:`archport.write`): the child's blobs, then the child manifest by
digest, then the new index by digest, and only then the tag.  Existing tags never change silently:
``new_tag`` leaves the old tag's digest untouched ("new tags only", the policy
of rancher/image-mirror issue 502); moving an existing tag needs ``overwrite``.
Afterwards the tag is read back and every pre-existing child digest checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .copy import plan
from .errors import ArchportError, BadInput
from .images import open_sink, open_source
from .oci import Index, Manifest, read_config
from .oci.edit import Edit, add_platform
from .platform import Platform
from .reference import Reference
from .store import Sink, Source
from .write import Part, Reporter, write


@dataclass(frozen=True, slots=True)
class Sourced:
    """A manifest or index, with the source its blobs and children are read from."""

    top: Manifest | Index
    source: Source


class TagExists(ArchportError):
    pass


@dataclass(frozen=True, slots=True)
class AddResult:
    target: str
    tag: str
    old_digest: str
    new_digest: str
    added: str
    platform: str
    replaced: tuple[str, ...]
    kept: tuple[str, ...]
    converted_from: str = ""     # the OCI manifest ``added`` was rewritten from (a Docker list's child)

    def to_dict(self) -> dict:
        return {"target": self.target, "tag": self.tag, "oldDigest": self.old_digest,
                "newDigest": self.new_digest, "added": self.added, "platform": self.platform,
                "replaced": list(self.replaced), "kept": list(self.kept),
                **({"convertedFrom": self.converted_from} if self.converted_from else {})}


def _config_platform(source: Source, m: Manifest) -> Platform:
    return read_config(source, m).platform


def index_add(client, target: Reference, child_source: Source, *, platform: Platform | None = None,
              new_tag: str | None = None, replace: bool = False, overwrite: bool = False,
              target_source: Source | None = None, workers: int = 4) -> AddResult:
    """Add ``child_source``'s manifest for ``platform`` to the index at ``target``."""
    if target.tag is None or target.digest is not None:
        raise BadInput(f"{target}: index add needs a tag (not a digest) to add to")
    tag = new_tag or target.tag
    tsource = target_source or open_source(target, client)
    top = tsource.resolve()
    top_platform = _config_platform(tsource, top) if isinstance(top, Manifest) else None

    # The child: a single manifest, or the platform's entry of an index.
    p = plan(child_source, platforms=[platform] if platform else None, single=True)
    child = p.top
    assert isinstance(child, Manifest)
    child_platform = _config_platform(child_source, child)
    if platform and not child_platform.matches(platform):
        raise BadInput(f"--manifest is {child_platform}, not {platform}")

    edit = add_platform(top, top_platform, child, child_platform, replace=replace)

    # Guard the tag before writing anything.
    existing = client.head_manifest(target.with_tag(tag))
    if existing is not None and existing.digest != edit.index.digest and not overwrite:
        if new_tag:
            raise TagExists(f"tag {tag} already exists ({existing.digest}); choose another --tag or pass --overwrite")
        raise TagExists(f"adding {child_platform} changes what {target} points at; pass --tag NEWTAG "
                        "to leave it untouched, or --overwrite to move it")

    child_ref = getattr(child_source, "ref", None)     # a registry source: mount its blobs
    sink = open_sink(target.with_tag(tag), client, source=child_ref)
    # edit.child: the child as the index holds it (an OCI image joining a
    # Docker list is rewritten as a Docker manifest over the same blobs).
    write(sink, edit.index, [Part(child_source, (edit.child,))], name=tag, workers=workers)

    # Verify: the tag resolves to the new index; pre-existing children unchanged.
    after = client.get_manifest(target.with_tag(tag))
    if after.digest != edit.index.digest:
        raise ArchportError(f"{target.with_tag(tag)} resolves to {after.digest}, not the new index {edit.index.digest}")
    assert isinstance(after, Index)
    present = {str(d.digest) for d in after.manifests}
    missing = [str(d.digest) for d in edit.kept if str(d.digest) not in present]
    if missing:
        raise ArchportError(f"pre-existing children changed: {', '.join(missing)} missing after the edit")
    if new_tag and new_tag != target.tag:
        old = client.head_manifest(target)
        if old is None or old.digest != top.digest:
            raise ArchportError(f"{target} moved while adding; it was {top.digest}")
    return AddResult(str(target), tag, str(top.digest), str(edit.index.digest), str(edit.child.digest),
                     str(child_platform), tuple(str(d.digest) for d in edit.replaced),
                     tuple(str(d.digest) for d in edit.kept),
                     str(child.digest) if edit.child.digest != child.digest else "")


def append_platform(sink: Sink, name: str | None, base: Sourced, child: Sourced, platform: Platform, *,
                    replace: bool = False, workers: int = 4, reporter: Reporter | None = None,
                    before_tag: Callable[[Edit], None] | None = None):
    """Copy ``base`` (every existing child byte for byte) and ``child`` (a manifest) to any
    :class:`~archport.store.Sink`, then the index with ``child`` appended, and
    only then the tag.  Returns the :class:`~archport.oci.edit.Edit`; the
    caller commits the sink.  ``index_add`` is the registry-to-itself case of
    the same order; this one serves ``port``, whose upstream and destination differ.
    With ``replace`` (``port --rebuild``) the index's image for ``platform``
    is swapped for ``child``, and the replaced image is not copied.
    ``before_tag(edit)`` runs once everything is stored and before the tag
    moves (``port`` attaches its referrers there)."""
    top, top_source = base.top, base.source
    top_platform = _config_platform(top_source, top) if isinstance(top, Manifest) else None
    edit = add_platform(top, top_platform, child.top, platform, replace=replace)
    gone = {d.digest for d in edit.replaced}
    p = plan(top_source, workers=workers)
    images = tuple(m for m in p.images if m.digest not in gone)
    write(sink, edit.index, [Part(top_source, images, tuple(p.indexes)), Part(child.source, (edit.child,))],
          name=name, workers=workers, reporter=reporter, tag=before_tag is None)
    if before_tag is not None:
        before_tag(edit)
        sink.tag(edit.index, name)
    return edit
