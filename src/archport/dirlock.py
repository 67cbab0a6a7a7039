"""Locks on directories: ``flock`` on a directory's descriptor.

A lock on a directory leaves no file behind, which matters where every file
has a meaning (an OCI image layout, k3s's images directory).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class DirLock:
    """An ``flock`` on the directory ``path`` (created if needed), shared or
    exclusive.  flock works on a directory's descriptor, so the lock leaves
    nothing behind; if the directory is removed while we wait (an aborted run
    that was alone in it), the lock is taken again on the new one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self, mode: int) -> bool:
        """Take the lock (``fcntl.LOCK_SH``/``LOCK_EX``, optionally
        ``|LOCK_NB``); False if non-blocking and busy."""
        while True:
            if self.fd is None:
                self.path.mkdir(exist_ok=True)      # never its parents: they are the caller's
                try:
                    self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
                except FileNotFoundError:
                    continue        # removed between mkdir and open
            try:
                fcntl.flock(self.fd, mode)
            except BlockingIOError:
                return False
            try:
                same = os.stat(self.path).st_ino == os.fstat(self.fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return True
            self.release()

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)    # closing drops the flock
            self.fd = None
