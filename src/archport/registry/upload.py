"""Streaming helpers, both directions: count, verify and cut a byte stream.

Memory stays bounded by one chunk of the source (about 1 MiB) whatever the
blob size: bodies are generators that pull from the source as httpx writes.
"""

from __future__ import annotations

import logging
from typing import Iterator

import httpx

from ..errors import BadInput, DigestMismatch
from ..oci import Descriptor
from ..oci.digest import Digest, Verifier
from .auth import safe_url
from .errors import transport_error

log = logging.getLogger("archport.registry")
CHUNK = 1 << 20                 # streaming unit, both directions


class _Counter:
    def __init__(self, desc: Descriptor) -> None:
        self.desc, self.count = desc, 0

    def update(self, chunk: bytes) -> None:
        self.count += len(chunk)

    def check(self) -> None:
        if self.count != self.desc.size:
            raise DigestMismatch(str(self.desc.digest), f"{self.count} bytes instead of {self.desc.size}", "blob")


class Reader:
    """Pulls from a chunk iterator, hashing as it goes; :meth:`take` yields
    exactly ``n`` bytes (for one PATCH), :meth:`finish` checks digest and size."""

    def __init__(self, chunks: Iterator[bytes], desc: Descriptor, rehash: bool = True) -> None:
        self._chunks = iter(chunks)
        self._desc = desc
        # A Source's stream already raises DigestMismatch when it ends wrong
        # (store.Source.open_blob); hashing it a second time is then only
        # cost.  Counting stays, and the last piece is still held back until
        # the stream has ended, so a bad blob never reaches the registry whole.
        self._verifier = Verifier(desc.digest, desc.size) if rehash else _Counter(desc)
        self._pending = b""

    def _next(self) -> bytes | None:
        for chunk in self._chunks:
            if chunk:
                self._verifier.update(chunk)
                if self._verifier.count > self._desc.size:
                    raise DigestMismatch(str(self._desc.digest), f"more than {self._desc.size} bytes", "blob")
                return bytes(chunk)
        return None

    def take(self, n: int) -> Iterator[bytes]:
        left = n
        while left > 0:
            if not self._pending:
                nxt = self._next()
                if nxt is None:
                    raise DigestMismatch(str(self._desc.digest), f"{self._verifier.count} bytes instead of {self._desc.size}", "blob")
                self._pending = nxt
            piece, self._pending = self._pending[:left], self._pending[left:]
            left -= len(piece)
            yield piece

    def all(self) -> Iterator[bytes]:
        """The whole blob, verified before its last piece leaves: on a
        mismatch the request is aborted short of its Content-Length, so the
        registry never receives a complete wrong blob."""
        held = None
        for piece in self.take(self._desc.size):
            if held is not None:
                yield held
            held = piece
        self.finish()
        if held is not None:
            yield held

    def finish(self) -> None:
        if self._pending or self._next() is not None:
            raise DigestMismatch(str(self._desc.digest), f"more than {self._desc.size} bytes", "blob")
        self._verifier.check()


def verified_stream(response: httpx.Response, desc: Descriptor, what: str = "blob") -> Iterator[bytes]:
    v = Verifier(desc.digest, desc.size, what)
    try:
        for chunk in response.iter_bytes(CHUNK):
            v.update(chunk)
            if v.count > desc.size:
                raise DigestMismatch(str(desc.digest), f"more than {desc.size} bytes", what)
            yield chunk
    except httpx.TransportError as e:
        raise transport_error("GET", response.request.url, e) from e
    v.check()


def content_digest(r: httpx.Response) -> Digest | None:
    """The response's ``Docker-Content-Digest``, or None when absent or in an
    algorithm we cannot compute (then there is nothing to compare with)."""
    header = (r.headers.get("docker-content-digest") or "").strip()
    if not header:
        return None
    try:
        return Digest.parse(header)
    except BadInput:
        log.debug("ignoring Docker-Content-Digest %r from %s", header, safe_url(r.request.url))
        return None
