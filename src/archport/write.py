"""Writing an image to a :class:`~archport.store.Sink`, in the one safe order.

1. every config and layer blob (in parallel, bounded; each verified);
2. the image manifests, by digest;
3. nested indexes, then the top index, by digest;
4. only then the tag.

A reader that follows a tag therefore always finds everything below it
(distribution spec, "Pushing manifests": a manifest's blobs must exist before
it is pushed).  The images may come from several sources (``port`` appends a
built image to an upstream index): each :class:`Part` names one source and
the images read from it.  Nothing here commits or aborts the sink: the caller
does, after possibly writing more.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Protocol, Sequence

from .errors import ArchportError
from .oci import Descriptor, Index, Manifest, mediatypes as mt
from .store import Sink, Source


class Reporter(Protocol):
    """Progress callbacks; the CLI renders them, the library never prints."""

    def planned(self, image: str, blobs: int, total_bytes: int) -> None: ...
    def advance(self, nbytes: int) -> None: ...
    def blob_done(self, desc: Descriptor, status: str) -> None: ...


class _Silent:
    def planned(self, image: str, blobs: int, total_bytes: int) -> None: pass
    def advance(self, nbytes: int) -> None: pass
    def blob_done(self, desc: Descriptor, status: str) -> None: pass


class Cancelled(ArchportError):
    """A blob transfer stopped because another one failed or the run was interrupted."""


@dataclass(frozen=True, slots=True)
class Part:
    """Images read from one source, with the nested indexes among them
    (written after the images, before the top)."""

    source: Source
    images: tuple[Manifest, ...]
    indexes: tuple[Index, ...] = ()


@dataclass(frozen=True, slots=True)
class Written:
    blobs: dict[str, int] = field(default_factory=dict)   # status -> count
    bytes_sent: int = 0
    manifests_written: int = 0


def _blobs_of(manifests: Sequence[Manifest]) -> dict[str, Descriptor]:
    blobs: dict[str, Descriptor] = {}
    for m in manifests:
        # Layers before the config: the big transfers start first, and a
        # sequential writer (workers=1) stores an image layer by layer.
        for b in (*m.layers, m.config):
            if b.media_type == mt.DOCKER_FOREIGN_LAYER or b.urls:
                continue  # foreign layers are fetched from their URLs by the runtime
            blobs.setdefault(str(b.digest), b)
    return blobs


def send_blobs(source: Source, sink: Sink, manifests: Sequence[Manifest], *, workers: int = 4,
               reporter: Reporter | None = None, name: str = "") -> tuple[dict[str, int], int]:
    """Every config and layer blob of ``manifests``, in parallel (bounded),
    each streamed and verified.  Returns (count per status, bytes sent).

    When one transfer fails, or the caller's thread is interrupted (SIGINT,
    SIGTERM), the others stop at their next chunk instead of running to the
    end, so the sink's clean-up is not kept waiting for gigabytes."""
    rep = reporter or _Silent()
    blobs = _blobs_of(manifests)
    rep.planned(name or source.name, len(blobs), sum(b.size for b in blobs.values()))

    sent = 0
    lock = threading.Lock()
    stop = threading.Event()
    counts: dict[str, int] = {}

    def opener_for(desc: Descriptor):
        @contextmanager
        def opener() -> Iterator[Iterator[bytes]]:
            with source.open_blob(desc) as chunks:
                def counted() -> Iterator[bytes]:
                    nonlocal sent
                    for c in chunks:
                        if stop.is_set():
                            raise Cancelled(f"transfer of {desc.digest} cancelled")
                        with lock:
                            sent += len(c)
                        rep.advance(len(c))
                        yield c
                yield counted()
        return opener

    def one(desc: Descriptor) -> None:
        if stop.is_set():
            raise Cancelled(f"transfer of {desc.digest} cancelled")
        status = sink.put_blob(desc, opener_for(desc))
        with lock:
            counts[status] = counts.get(status, 0) + 1
        rep.blob_done(desc, status)

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        # list() re-raises the first failure.
        list(pool.map(one, blobs.values()))
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return counts, sent


def write(sink: Sink, top: Manifest | Index, parts: Sequence[Part], *, name: str | None = None,
          tag: bool = True, workers: int = 4, reporter: Reporter | None = None,
          label: str = "") -> Written:
    """Write ``parts`` and ``top`` to ``sink`` in the safe order, then point
    ``name`` at ``top`` (unless ``tag`` is false).  A manifest the sink
    already has is not sent again."""
    counts: dict[str, int] = {}
    sent = 0
    for part in parts:
        c, n = send_blobs(part.source, sink, part.images, workers=workers, reporter=reporter,
                          name=label or part.source.name)
        for k, v in c.items():
            counts[k] = counts.get(k, 0) + v
        sent += n
    written = 0
    seen: set[str] = set()
    for m in [*(i for p in parts for i in p.images), *(x for p in parts for x in p.indexes), top]:
        key = str(m.digest)
        if key in seen:
            continue
        seen.add(key)
        if not sink.has_manifest(m.descriptor()):
            sink.put_manifest(m)
            written += 1
    if tag:
        sink.tag(top, name)
    return Written(counts, sent, written)


__all__ = ["Part", "Written", "Reporter", "Cancelled", "send_blobs", "write"]
