"""A read-only, seekable byte stream of known size: the shape shared by a
window into a spool file (check) and a file read by HTTP range requests
(release/c downloads).  Subclasses implement :meth:`readinto` at ``pos``."""

from __future__ import annotations

import io


class Seekable(io.RawIOBase):
    pos: int = 0
    size: int = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + pos)
        return self.pos
