"""A layer blob's bytes as its uncompressed tar, with bounded memory.

The compression is sniffed from the bytes (gzip ``1f 8b``, zstd
``28 b5 2f fd``) rather than trusted from the media type, as containerd does
(``archive/compression``).  Concatenated gzip members (RFC 1952 2.2) and zstd
frames are inflated in turn, zero padding after a member is tolerated, and a
cut-off member is an error.

Memory stays bounded whatever the ratio: zlib is asked for at most
:data:`BLOCK` bytes a call, and zstd, whose streaming API has no such limit,
is fed :data:`_ZSTD_SLICE` bytes at a time — a zstd block never holds more
than 128 KiB (RFC 8878 3.1.1.2.4) and an RLE block takes 4 bytes, so one
slice inflates to at most 8 MiB.  A 133 KB layer of 4 GB of zeros thus
streams through a few megabytes.  ``limit`` caps what one blob may expand to.
"""

from __future__ import annotations

import io
import itertools
import zlib
from typing import Callable, Iterable, Iterator


from .. import zstd
from ..errors import ArchportError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BLOCK = 1 << 20
_ZSTD_SLICE = 256


class TooLarge(ArchportError):
    """A layer expands, or an extraction writes, beyond the cap it was given."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


def sniff(head: bytes) -> str:
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


def inflate(chunks: Iterable[bytes], limit: int | None = None) -> Iterator[bytes]:
    """The uncompressed bytes of a (gzip-, zstd- or un-) compressed blob, in
    blocks of at most :data:`BLOCK` (uncompressed input passes as it comes).
    Raises :class:`TooLarge` past ``limit`` bytes, ``EOFError`` on a cut-off
    member, ``zlib.error``/``zstandard.ZstdError`` on corrupt data."""
    it = iter(chunks)
    first = b""
    for first in it:
        if first:
            break
    kind = sniff(first)
    if kind == "gzip":
        out = _members(itertools.chain((first,), it), lambda: zlib.decompressobj(31), _feed_zlib)
    elif kind == "zstd":
        dctx = zstd.module().ZstdDecompressor()
        out = _members(itertools.chain((first,), it), dctx.decompressobj, _feed_zstd)
    else:
        out = itertools.chain((first,), it)
    total = 0
    for block in out:
        total += len(block)
        if limit is not None and total > limit:
            raise TooLarge(f"expands to more than {human(limit)}", limit)
        if block:
            yield block


def _members(chunks: Iterator[bytes], new, feed) -> Iterator[bytes]:
    d = new()
    fed = False
    for chunk in chunks:
        while chunk:
            if not fed:
                chunk = chunk.lstrip(b"\0")
                if not chunk:
                    break
            fed = True
            rest = yield from feed(d, chunk)
            if d.eof:
                chunk = rest
                d, fed = new(), False
            else:
                chunk = b""
    if fed:
        raise EOFError("compressed data ended before the end-of-stream marker")


def _feed_zlib(d, data: bytes):
    out = d.decompress(data, BLOCK)
    while True:
        if out:
            yield out
        # A full block may leave output pending inside zlib even when all
        # input was taken; ask again until it comes out short.
        if d.eof or not (d.unconsumed_tail or len(out) == BLOCK):
            return d.unused_data if d.eof else b""
        out = d.decompress(d.unconsumed_tail, BLOCK)


def _feed_zstd(d, data: bytes):
    view = memoryview(data)
    for i in range(0, len(view), _ZSTD_SLICE):
        out = d.decompress(view[i:i + _ZSTD_SLICE])
        if len(out) <= BLOCK:
            if out:
                yield out
        else:
            whole = memoryview(out)
            for j in range(0, len(whole), BLOCK):
                yield bytes(whole[j:j + BLOCK])
        if d.eof:
            return bytes(d.unused_data) + bytes(view[i + _ZSTD_SLICE:])
    return b""


class Stream(io.RawIOBase):
    """Blocks from ``next_block`` (None at the end) as a file readable and
    seekable *forward* (tarfile skips member data by seeking; skipped bytes
    are dropped, never copied)."""

    def __init__(self, next_block: Callable[[], bytes | None]) -> None:
        self._next = next_block
        self._buf = memoryview(b"")
        self._pos = 0
        self._eof = False

    @classmethod
    def of(cls, blocks: Iterable[bytes]) -> "Stream":
        it = iter(blocks)
        return cls(lambda: next(it, None))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def _fill(self) -> bool:
        if self._eof:
            return False
        try:
            item = self._next()
        except BaseException:
            self._eof = True
            raise
        if item is None:
            self._eof = True
            return False
        self._buf = memoryview(item)
        return True

    def read(self, n: int = -1) -> bytes:
        parts = []
        while n != 0:
            if not self._buf and not self._fill():
                break
            take = len(self._buf) if n < 0 else min(n, len(self._buf))
            parts.append(self._buf[:take])
            self._buf = self._buf[take:]
            self._pos += take
            n -= take if n > 0 else 0
        return b"".join(parts)

    def readinto(self, b) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            pos += self._pos
        elif whence != io.SEEK_SET:
            raise io.UnsupportedOperation("only forward seeks")
        if pos < self._pos:
            raise io.UnsupportedOperation("layer streams cannot seek backwards")
        skip = pos - self._pos
        while skip:
            if not self._buf and not self._fill():
                break
            take = min(skip, len(self._buf))
            self._buf = self._buf[take:]
            self._pos += take
            skip -= take
        return self._pos

    def drain(self) -> None:
        while self._buf or self._fill():
            self._pos += len(self._buf)
            self._buf = memoryview(b"")


def human(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"
