"""A naive copier over the Source/Sink protocols, for these tests only, so the
layout and archive ends are tested without archport's own copier: blobs,
child manifests, index, tag, commit, one after another."""

from __future__ import annotations

import json

from archport.oci import Index
from archport.oci.manifest import build_index
from archport.platform import Platform
from standins import skopeo as support_skopeo


def plain_copy(src, sink, name: str | None = None, platforms: list[Platform] | None = None, *, top=None):
    top = top or src.resolve()
    children = []
    if isinstance(top, Index):
        keep = [d for d in top.manifests
                if platforms is None or (d.platform and any(d.platform.matches(p) for p in platforms))]
        children = [src.manifest(d) for d in keep]
        if platforms is not None:
            top = build_index(top.media_type, keep)
    try:
        for m in children or [top]:
            for b in m.blobs():
                sink.put_blob(b, lambda b=b: src.open_blob(b))
            sink.put_manifest(m)
        if isinstance(top, Index):
            sink.put_manifest(top)
        sink.tag(top, name)
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    return top


skopeo = support_skopeo.skopeo
raw = support_skopeo.raw


def index_json(layout) -> dict:
    return json.loads((layout / "index.json").read_bytes())


