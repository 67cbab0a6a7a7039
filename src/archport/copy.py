"""Copy an image between any :class:`~archport.store.Source` and
:class:`~archport.store.Sink`, in the safe order.

With no platform selection the index and every manifest travel byte for byte,
so every digest is preserved.  Selecting platforms either builds a new index of
the selected entries (``copy --platform``; the new index has a new digest and
the result says so) or keeps the original index bytes and sends only the
selected children (``keep_index``: the airgap case, where containerd unpacks
only the node's platform and the image keeps the digest it has upstream).

Order: blobs (in parallel, bounded) → child manifests → index → tag.  A sink
that is a file commits atomically at the end; on any error it is aborted.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Protocol

from .errors import ArchportError, BadInput
from .oci import Descriptor, Index, Manifest, mediatypes as mt
from .oci.config import parse_config
from .oci.manifest import build_index
from .platform import Platform
from .store import Sink, Source


class PlatformMissing(ArchportError):
    """The source offers none of the platforms asked for."""

    def __init__(self, name: str, wanted: list[Platform], offered: list[Platform]) -> None:
        self.wanted, self.offered = wanted, offered
        super().__init__(
            f"{name} has no {', '.join(map(str, wanted))} variant; it offers "
            f"{', '.join(map(str, offered)) or 'no platforms'}"
        )


class Reporter(Protocol):
    """Progress callbacks; the CLI renders them, the library never prints."""

    def planned(self, image: str, blobs: int, total_bytes: int) -> None: ...
    def advance(self, nbytes: int) -> None: ...
    def blob_done(self, desc: Descriptor, status: str) -> None: ...


class _Silent:
    def planned(self, image: str, blobs: int, total_bytes: int) -> None: pass
    def advance(self, nbytes: int) -> None: pass
    def blob_done(self, desc: Descriptor, status: str) -> None: pass


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
    whose destination already has it stops after one HEAD."""
    top: Manifest | Index
    selected: list[Descriptor]   # children to send (empty for a single manifest)
    platforms: list[str]
    new_index: bool


def _platform_of_manifest(source: Source, m: Manifest) -> Platform:
    with source.open_blob(m.config) as chunks:
        raw = b"".join(chunks)
    return parse_config(raw).platform


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


def send_blobs(source: Source, sink: Sink, manifests: list[Manifest], *, workers: int = 4,
               reporter: Reporter | None = None, name: str = "") -> tuple[dict[str, int], int]:
    """Every config and layer blob of ``manifests``, in parallel (bounded),
    each streamed and verified.  Returns (count per status, bytes sent)."""
    rep = reporter or _Silent()
    blobs: dict[str, Descriptor] = {}
    for m in manifests:
        for b in m.blobs():
            if b.media_type in (mt.DOCKER_FOREIGN_LAYER,) or b.urls:
                continue  # foreign layers are fetched from their URLs by the runtime
            blobs.setdefault(str(b.digest), b)
    rep.planned(name or source.name, len(blobs), sum(b.size for b in blobs.values()))

    sent = 0
    lock = threading.Lock()
    counts: dict[str, int] = {}

    def opener_for(desc: Descriptor):
        @contextmanager
        def opener() -> Iterator[Iterator[bytes]]:
            with source.open_blob(desc) as chunks:
                def counted() -> Iterator[bytes]:
                    nonlocal sent
                    for c in chunks:
                        with lock:
                            sent += len(c)
                        rep.advance(len(c))
                        yield c
                yield counted()
        return opener

    def one(desc: Descriptor) -> None:
        status = sink.put_blob(desc, opener_for(desc))
        with lock:
            counts[status] = counts.get(status, 0) + 1
        rep.blob_done(desc, status)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        # list() re-raises the first failure; the pool still drains the rest.
        list(pool.map(one, blobs.values()))

    return counts, sent


def transfer(source: Source, sink: Sink, *, name: str | None = None, platforms: list[Platform] | None = None,
             keep_index: bool = False, workers: int = 4, reporter: Reporter | None = None) -> CopyResult:
    """Send one image; the caller commits or aborts ``sink`` (so an airgap
    archive can take several images before it is committed)."""
    rep = reporter or _Silent()
    started = time.monotonic()
    c = choose(source, platforms=platforms, keep_index=keep_index, single=getattr(sink, "single_platform", False))
    top = c.top
    current = sink.current(name)
    if current is not None and current.digest == top.digest:
        return CopyResult(source.name, sink.name, str(top.digest), top.media_type, tuple(c.platforms),
                          c.new_index, True, {}, 0, 0, time.monotonic() - started)
    p = expand(source, c, workers)

    counts, sent = send_blobs(source, sink, p.images, workers=workers, reporter=rep, name=source.name)

    written = 0
    for m in [*p.images, *p.indexes]:
        if not sink.has_manifest(m.descriptor()):
            sink.put_manifest(m)
            written += 1
    if isinstance(top, Index) and not sink.has_manifest(top.descriptor()):
        sink.put_manifest(top)
        written += 1
    sink.tag(top, name)
    return CopyResult(source.name, sink.name, str(top.digest), top.media_type, tuple(p.platforms),
                      p.new_index, False, counts, sent, written, time.monotonic() - started)


def copy_image(source: Source, sink: Sink, **kw) -> CopyResult:
    """:func:`transfer` plus commit, or abort on any error: never half-written."""
    try:
        result = transfer(source, sink, **kw)
        sink.commit()
        return result
    except BaseException:
        sink.abort()
        raise
