"""One image's destination tag, read once per port.

Three questions are asked of it: is the port already done (a rerun stops
here), what is the new platform appended to, and may the tag move at all.
They share one HEAD of the tag and at most one GET of what it names.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..cache import Cache
from ..images import open_sink, open_source
from ..location import LayoutLocation
from ..oci import Index, Manifest
from ..oci.descriptor import Descriptor
from ..platform import Platform
from ..reference import Reference
from ..store import Sink, Source
from ..strategies import NotPortable, Upstream
from .model import Destination

_UNREAD: Any = object()


def _children(top: Manifest | Index) -> set[str]:
    return {str(d.digest) for d in top.manifests} if isinstance(top, Index) else {str(top.digest)}


class DestTag:
    def __init__(self, dest: Destination, registry, cache_dir, ref: Reference) -> None:
        self.dest, self.registry, self.ref = dest, registry, ref
        self.described = dest.describe(ref)
        self._done = Cache(cache_dir, "done")
        self._current: Descriptor | None = _UNREAD
        self._top: Manifest | Index | None = None

    # -- access ------------------------------------------------------------------
    def sink(self) -> tuple[Sink, str | None]:
        """The sink to write to and the name to tag (a layout is shared by
        every image: the name goes with each tag, not with the sink)."""
        if self.dest.layout:
            return open_sink(LayoutLocation(self.dest.layout)), self.dest.name_for(self.ref)
        dref = self.dest.ref_for(self.ref)
        return open_sink(dref, self.registry), dref.tag

    def source(self) -> Source:
        if self.dest.layout:
            return open_source(LayoutLocation(self.dest.layout, self.dest.name_for(self.ref)))
        return open_source(self.dest.ref_for(self.ref), self.registry)

    @property
    def current(self) -> Descriptor | None:
        """What the tag names now (one HEAD), before this port writes."""
        if self._current is _UNREAD:
            sink, name = self.sink()
            self._current = sink.current(name)
        return self._current

    def top(self) -> Manifest | Index:
        """The tag's manifest, read by the digest the HEAD saw, so the bytes are
        checked against it and a tag moved in between cannot slip in."""
        if self._top is None:
            current = self.current
            if current is not None and not self.dest.layout:
                pinned = self.dest.ref_for(self.ref).with_digest(str(current.digest))
                self._top = open_source(pinned, self.registry).resolve()
            else:
                self._top = self.source().resolve()
        return self._top

    # -- questions -----------------------------------------------------------------
    def _key(self, target: Platform) -> dict:
        return {"dest": self.described, "platform": str(target)}

    def done(self, target: Platform) -> tuple[str, str] | None:
        """(index digest, platform digest) when the tag has the target.  One
        HEAD when the cache saw the same digest before; a GET otherwise."""
        current = self.current
        if current is None:
            return None
        seen = self._done.recall(self._key(target))
        if seen and seen.get("digest") == str(current.digest):
            return seen["digest"], seen.get("platform", "")
        top = self.top()
        desc = top.find(target) if isinstance(top, Index) else None
        if desc is None:
            return None
        found = (str(top.digest), str(desc.digest))
        self.remember(target, *found)
        return found

    def remember(self, target: Platform, digest: str, platform_digest: str) -> None:
        self._done.note(self._key(target), {"digest": digest, "platform": platform_digest})

    def base(self, up: Upstream, overwrite: bool) -> Upstream:
        """What the new platform is appended to.  Normally the upstream index; but
        when the tag already holds the upstream images plus platforms an earlier
        port added (``--arch riscv64``, then ``--arch loong64``), that index, so
        the earlier platforms stay.  A tag holding anything else is never moved
        silently: the port refuses unless ``--overwrite`` (the same rule as
        ``index add``, rancher/image-mirror#502)."""
        current = self.current
        if current is None or current.digest == up.top.digest:
            return up
        top = self.top()
        if isinstance(top, Index) and _children(up.top) <= _children(top):
            return replace(up, source=self.source(), top=top)
        if overwrite:
            return up
        raise NotPortable(f"{self.described} already exists ({current.digest}) and does not hold the images of "
                          f"{self.ref.familiar()} ({up.top.digest}); port does not move a tag it did not make",
                          "pass --overwrite to replace that tag, or choose another --to prefix")
