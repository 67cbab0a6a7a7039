"""Digests: ``algorithm:hex`` over exact bytes (image-spec ``descriptor.md#digests``)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator

from ..errors import BadInput, DigestMismatch

_ALGOS = {"sha256": 64, "sha512": 128}
_RE = re.compile(r"^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$")


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @classmethod
    def parse(cls, text: str) -> "Digest":
        m = _RE.match(text or "")
        if not m:
            raise BadInput(f"invalid digest {text!r}")
        algo, hexpart = m.group(1), m.group(2)
        if algo not in _ALGOS:
            raise BadInput(f"unsupported digest algorithm {algo!r} in {text!r}")
        if len(hexpart) != _ALGOS[algo] or not re.fullmatch(r"[a-f0-9]+", hexpart):
            raise BadInput(f"invalid {algo} digest {text!r}")
        return cls(algo, hexpart)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> "Digest":
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self):
        return hashlib.new(self.algorithm)

    def verify(self, data: bytes, what: str = "blob") -> None:
        actual = Digest.of(data, self.algorithm)
        if actual != self:
            raise DigestMismatch(str(self), str(actual), what)


def sha256_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Verifier:
    """Hash a stream as it passes; :meth:`check` raises on mismatch or short read."""

    def __init__(self, expected: Digest, size: int | None = None, what: str = "blob") -> None:
        self.expected = expected
        self.size = size
        self.what = what
        self._h = expected.hasher()
        self.count = 0

    def update(self, chunk: bytes) -> None:
        self._h.update(chunk)
        self.count += len(chunk)

    def check(self) -> None:
        actual = Digest(self.expected.algorithm, self._h.hexdigest())
        if actual != self.expected:
            raise DigestMismatch(str(self.expected), str(actual), self.what)
        if self.size is not None and self.count != self.size:
            raise DigestMismatch(str(self.expected), f"{self.count} bytes instead of {self.size}", self.what)


def verified(chunks: Iterable[bytes], expected: Digest, size: int | None = None,
             what: str = "blob") -> Iterator[bytes]:
    """Pass ``chunks`` through; at the end raise DigestMismatch unless they
    hash to ``expected`` (and add up to ``size``)."""
    v = Verifier(expected, size, what)
    for chunk in chunks:
        v.update(chunk)
        yield chunk
    v.check()


class HashingWriter:
    """A write-only file object that passes bytes on to ``out`` and hashes
    (SHA-256) and counts them, so a layer's digest or an archive's checksum
    is known when its last byte is written, without reading it back."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, b) -> int:
        self.out.write(b)
        self.hash.update(b)
        self.size += len(b)
        return len(b)

    def flush(self) -> None:
        self.out.flush()

    def digest(self) -> Digest:
        return Digest("sha256", self.hash.hexdigest())
