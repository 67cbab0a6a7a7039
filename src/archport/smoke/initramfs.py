"""An image's root filesystem as an initramfs: the "newc" cpio archive the
kernel unpacks into its first root (the kernel's
Documentation/driver-api/early-userspace/buffer-format.rst).

The kernel smoke's machine has no disk: the image's merged files, with their
modes and owners, are its root, and archport's own files go under
``/.archport`` (its static busybox, the init script, the modules).  Owners
and modes come from the image's merged view (:class:`~archport.imagefs.RootFS`),
contents from the extracted tree, so a run as an ordinary user still gives
the machine the image's owners.  Written as it goes: nothing is held whole
in memory.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import BinaryIO, Iterator

from ..imagefs import DIR, FILE, LINK, Node, RootFS

_S_IFDIR, _S_IFREG, _S_IFLNK = 0o040000, 0o100000, 0o120000
RESERVED = ".archport"      # archport's busybox, init and modules (smoke.vm)


class Writer:
    def __init__(self, out: BinaryIO) -> None:
        self.out, self.ino, self.written = out, 0, 0

    def _header(self, name: str, mode: int, uid: int, gid: int, size: int) -> None:
        self.ino += 1
        raw = name.encode() + b"\0"
        fields = (self.ino, mode, uid, gid, 1, 0, size, 0, 0, 0, 0, len(raw), 0)
        self._put(b"070701" + b"".join(b"%08X" % f for f in fields) + raw)
        self._pad()

    def _put(self, data: bytes) -> None:
        self.out.write(data)
        self.written += len(data)

    def _pad(self) -> None:
        self._put(b"\0" * (-self.written % 4))

    def directory(self, name: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        self._header(name, _S_IFDIR | mode & 0o7777, uid, gid, 0)

    def symlink(self, name: str, target: str, uid: int = 0, gid: int = 0) -> None:
        data = target.encode()
        self._header(name, _S_IFLNK | 0o777, uid, gid, len(data))
        self._put(data)
        self._pad()

    def file(self, name: str, mode: int, data: bytes | Path, uid: int = 0, gid: int = 0) -> None:
        size = len(data) if isinstance(data, bytes) else data.stat().st_size
        self._header(name, _S_IFREG | mode & 0o7777, uid, gid, size)
        if isinstance(data, bytes):
            self._put(data)
        else:
            with open(data, "rb") as f:
                shutil.copyfileobj(f, self.out, 1 << 20)
            self.written += size
        self._pad()

    def close(self) -> None:
        self._header("TRAILER!!!", 0, 0, 0, 0)


def _walk(node: Node, path: str) -> Iterator[tuple[str, Node]]:
    stack = [(path, node)]
    while stack:
        p, n = stack.pop()
        yield p, n
        if n.children:
            stack.extend((f"{p}/{k}" if p else k, c) for k, c in sorted(n.children.items(), reverse=True))


def image_root(w: Writer, view: RootFS, tree: Path) -> list[str]:
    """Write every directory, file and symlink of the image; what was left out."""
    skipped = []
    for path, node in _walk(view.root, ""):
        if not path:
            continue
        if path == RESERVED or path.startswith(RESERVED + "/"):
            skipped.append(path)        # archport's own files go there; the image's must not stand in for them
            continue
        if node.kind == DIR:
            w.directory(path, node.mode, node.uid, node.gid)
        elif node.kind == LINK:
            w.symlink(path, node.target, node.uid, node.gid)
        elif node.kind == FILE and (tree / path).is_file() and not (tree / path).is_symlink():
            w.file(path, node.mode, tree / path, node.uid, node.gid)
        else:
            skipped.append(path)
    return skipped


__all__ = ["RESERVED", "Writer", "image_root"]
