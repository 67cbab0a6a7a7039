"""Copy an image between any :class:`~archport.store.Source` and
:class:`~archport.store.Sink`, in the safe order.

With no platform selection the index and every manifest travel byte for byte,
so every digest is preserved.  Selecting platforms either builds a new index of
the selected entries (``copy --platform``; the new index has a new digest and
the result says so) or keeps the original index bytes and sends only the
selected children (``keep_index``: the airgap case, where containerd unpacks
only the node's platform and the image keeps the digest it has upstream).

The order (blobs → child manifests → index → tag) is :mod:`archport.write`'s.
A sink that is a file commits atomically at the end; on any error it is aborted.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .errors import ArchportError, BadInput
from .oci import Descriptor, Index, Manifest, read_config
from .oci.manifest import build_index
from .platform import Platform
from .store import Sink, Source
from .write import Part, Reporter, send_blobs, write


class PlatformMissing(ArchportError):
    """The source offers none of the platforms asked for."""

    def __init__(self, name: str, wanted: list[Platform], offered: list[Platform]) -> None:
        self.wanted, self.offered = wanted, offered
        super().__init__(
            f"{name} has no {', '.join(map(str, wanted))} variant; it offers "
            f"{', '.join(map(str, offered)) or 'no platforms'}"
        )


@dataclass(frozen=True, slots=True)
class CopyResult:
    source: str
    destination: str
    digest: str
    media_type: str
    platforms: tuple[str, ...]
    new_index: bool
    unchanged: bool
    blobs: dict[str, int] = field(default_factory=dict)  # status -> count
    bytes_sent: int = 0
    manifests_written: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "source": self.source, "destination": self.destination, "digest": self.digest,
            "mediaType": self.media_type, "platforms": list(self.platforms),
            "newIndex": self.new_index, "unchanged": self.unchanged, "blobs": dict(self.blobs),
            "bytesSent": self.bytes_sent, "manifestsWritten": self.manifests_written,
            "seconds": round(self.seconds, 3),
        }


@dataclass(slots=True)
class _Plan:
    top: Manifest | Index
    images: list[Manifest]
    indexes: list[Index]   # nested indexes below top (rare), written before top
    platforms: list[str]
    new_index: bool


@dataclass(slots=True)
class _Choice:
    """What the top of the copy is, decided from the root alone, so a copy
    whose destination already has it stops after a HEAD of the tag and a
    check that each selected child is still whole there."""
    top: Manifest | Index
    selected: list[Descriptor]   # children to send (empty for a single manifest)
    platforms: list[str]
    new_index: bool


def _platform_of_manifest(source: Source, m: Manifest) -> Platform:
    return read_config(source, m).platform


def choose(source: Source, *, platforms: list[Platform] | None = None, keep_index: bool = False,
           single: bool = False) -> _Choice:
    root = source.resolve()
    if isinstance(root, Manifest):
        if platforms:
            p = _platform_of_manifest(source, root)
            if not any(p.matches(w) for w in platforms):
                raise PlatformMissing(source.name, platforms, [p])
            return _Choice(root, [], [str(p)], False)
        return _Choice(root, [], [], False)
    entries = list(root.manifests)
    selected = entries
    if platforms:
        selected = [d for d in entries if d.platform is not None
                    and any(d.platform.matches(w) for w in platforms)]
        if not selected:
            raise PlatformMissing(source.name, platforms, root.platforms())
    names = [str(d.platform) for d in selected if d.platform is not None]
    if single:
        if len(selected) != 1:
            raise BadInput(f"{source.name} has {len(selected)} platforms; this destination holds one "
                           "platform per image: pass --platform")
        child = source.manifest(selected[0])
        if not isinstance(child, Manifest):
            raise BadInput(f"{source.name}: the selected entry is an index, not an image")
        return _Choice(child, [], names, False)
    if platforms and not keep_index and len(selected) != len(entries):
        return _Choice(build_index(root.media_type, selected, root.annotations), selected, names, True)
    return _Choice(root, selected, names, False)


def expand(source: Source, c: _Choice, workers: int = 4) -> _Plan:
    """Fetch the manifests below the chosen top (in parallel)."""
    if isinstance(c.top, Manifest):
        return _Plan(c.top, [c.top], [], c.platforms, c.new_index)
    images: list[Manifest] = []
    indexes: list[Index] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        fetched = list(pool.map(source.manifest, c.selected))
    for m in fetched:
        if isinstance(m, Index):  # nested index: copy it whole
            sub = plan_nested(source, m)
            images += sub[0]
            indexes += sub[1] + [m]
        else:
            images.append(m)
    return _Plan(c.top, images, indexes, c.platforms, c.new_index)


def plan(source: Source, *, platforms: list[Platform] | None = None, keep_index: bool = False,
         single: bool = False, workers: int = 4) -> _Plan:
    """Work out what to send: the top manifest and every image manifest below it."""
    return expand(source, choose(source, platforms=platforms, keep_index=keep_index, single=single), workers)


def plan_nested(source: Source, idx: Index) -> tuple[list[Manifest], list[Index]]:
    images: list[Manifest] = []
    indexes: list[Index] = []
    for d in idx.manifests:
        m = source.manifest(d)
        if isinstance(m, Index):
            a, b = plan_nested(source, m)
            images += a
            indexes += b + [m]
        else:
            images.append(m)
    return images, indexes


def _complete(sink: Sink, c: _Choice, workers: int) -> bool:
    """Whether the sink holds everything the chosen top needs: each selected
    child of an index (a copy with ``keep_index`` sends only those), or the
    image itself.  A tag that names an image whose parts were lost (a
    damaged layout, a registry that garbage-collected a child) is not done."""
    wanted = c.selected if isinstance(c.top, Index) else [c.top.descriptor()]
    if len(wanted) <= 1:
        return all(sink.holds(d) for d in wanted)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return all(pool.map(sink.holds, wanted))


def transfer(source: Source, sink: Sink, *, name: str | None = None, platforms: list[Platform] | None = None,
             keep_index: bool = False, workers: int = 4, reporter: Reporter | None = None) -> CopyResult:
    """Send one image; the caller commits or aborts ``sink`` (so an airgap
    archive can take several images before it is committed)."""
    started = time.monotonic()
    c = choose(source, platforms=platforms, keep_index=keep_index, single=sink.single_platform)
    top = c.top
    current = sink.current(name)
    if current is not None and current.digest == top.digest and _complete(sink, c, workers):
        return CopyResult(source.name, sink.name, str(top.digest), top.media_type, tuple(c.platforms),
                          c.new_index, True, {}, 0, 0, time.monotonic() - started)
    p = expand(source, c, workers)
    w = write(sink, top, [Part(source, tuple(p.images), tuple(p.indexes))], name=name,
              workers=workers, reporter=reporter)
    return CopyResult(source.name, sink.name, str(top.digest), top.media_type, tuple(p.platforms),
                      p.new_index, False, w.blobs, w.bytes_sent, w.manifests_written, time.monotonic() - started)


def copy_image(source: Source, sink: Sink, **kw) -> CopyResult:
    """:func:`transfer` plus commit, or abort on any error: never half-written."""
    try:
        result = transfer(source, sink, **kw)
        sink.commit()
        return result
    except BaseException:
        sink.abort()
        raise


__all__ = ["PlatformMissing", "CopyResult", "Reporter", "choose", "expand", "plan", "plan_nested",
           "send_blobs", "transfer", "copy_image"]
