"""Unpack a verified ``.apk``'s data member into layer entries, the way
``apk add --no-scripts`` places files, without running anything.

Only the data member is read: the control member's scripts
(``.pre-install``, ``.post-install``, triggers) never run; the configure
steps that matter are done natively (:mod:`.configure`).  Each regular
file's content must match the SHA-1 its PAX header
``APK-TOOLS.checksum.SHA1`` gives (the format in
:mod:`archport.fetch.apkformat`).
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from .members import MAX_PACKAGE, Unpacked, unpack_tar

CHECKSUM = "APK-TOOLS.checksum.SHA1"


class _Slice(io.RawIOBase):
    """A window of a file, so the data member is read in place."""

    def __init__(self, fh, offset: int, length: int) -> None:
        self.fh, self.left = fh, length
        fh.seek(offset)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.left <= 0:
            return 0
        n = self.fh.readinto(memoryview(b)[:min(len(b), self.left)])
        self.left -= n
        return n


def unpack(apk: Path, data: tuple[int, int], spool: Path, *, max_size: int = MAX_PACKAGE) -> Unpacked:
    """Every member of ``apk``'s data member (``data`` = its offset and length)."""
    with open(apk, "rb") as fh:
        raw = io.BufferedReader(_Slice(fh, *data))
        with tarfile.open(fileobj=raw, mode="r|gz") as tar:
            return unpack_tar(tar, spool, apk.name, max_size=max_size,
                              expected_sha1=lambda m: m.pax_headers.get(CHECKSUM) if m.isreg() else None)
