"""The merged view: an image's root filesystem as metadata in memory.

Layers are applied in order the way containerd's applier does (image-spec
``layer.md``): a ``.wh.NAME`` entry deletes NAME from the layers below, an
``.wh..wh..opq`` entry empties its directory of everything below, and entries
of the same layer are never hidden by that layer's whiteouts — so each layer's
deletions are applied before its additions.  Parent directories are resolved
inside the root following symlinks (containerd ``fs.RootPath``), so a layer
writing ``lib/x`` over a ``lib -> usr/lib`` symlink lands in ``/usr/lib/x``.

Nothing is ever written to the host's file tree.  Regular files keep their
first bytes (enough for an ELF header or a ``#!`` line, which the kernel reads
from a 256-byte buffer, ``BINPRM_BUF_SIZE``); ELF executables and shared
libraries are also spooled to one anonymous temporary file so their program
headers and dynamic section can be read wherever they are.

Path resolution follows the kernel's rules inside a chroot: absolute symlink
targets start again at the image root, ``..`` at the root stays at the root
(and is reported), at most 40 symlinks are followed (``MAXSYMLINKS``,
``ELOOP`` beyond).
"""

from __future__ import annotations

import copy
import io
import posixpath
import tempfile
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from ..errors import ArchportError
from ..streams import Seekable
from .paths import HOPS_MAX, join, split

HEAD_SIZE = 512

DIR, FILE, LINK, DEV, FIFO = "dir", "file", "symlink", "device", "fifo"


class Node:
    """One path's metadata.  Built while layers stream by, then only read."""

    __slots__ = ("kind", "mode", "uid", "gid", "size", "target", "head", "spool", "layer", "children")

    def __init__(self, kind: str, mode: int = 0o755, uid: int = 0, gid: int = 0, size: int = 0,
                 target: str = "", layer: int = -1) -> None:
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.target = target          # symlink target, verbatim
        self.layer = layer            # index of the layer that wrote it (-1: implied)
        # Filled while the file's bytes stream by (.layers), never known up front:
        self.head = b""               # first bytes of a regular file
        self.spool: int | None = None  # offset of the whole file in the spool, when kept
        self.children: dict[str, Node] | None = {} if kind == DIR else None

    @property
    def executable(self) -> bool:
        return bool(self.mode & 0o111)


class PathError(ArchportError):
    """Resolution failed the way a syscall would: ``errno`` is ENOENT, ENOTDIR or ELOOP."""

    def __init__(self, errno: str, path: str) -> None:
        super().__init__(f"{path}: {errno}")
        self.errno = errno
        self.path = path


@dataclass(frozen=True, slots=True)
class Resolved:
    path: str                                  # canonical path inside the image
    node: Node
    links: tuple[tuple[str, str], ...] = ()    # (symlink, its target) in the order followed
    clamped: tuple[str, ...] = ()              # symlinks whose ``..`` climbed above the root


class RootFS:
    """The merged tree.  ``spool``: keep whole ELF files (in one anonymous
    temporary file) so their program headers can be read; without it only
    the first :data:`HEAD_SIZE` bytes of each file are kept."""

    def __init__(self, spool: bool = True) -> None:
        self.root = Node(DIR)
        self.keeps_files = spool
        self._spool: BinaryIO | None = None

    # -- resolution ---------------------------------------------------------

    def resolve(self, path: str, cwd: str = "/", follow: bool = True, create: bool = False) -> Resolved:
        """Walk ``path`` (relative paths start at ``cwd``) inside the root.

        ``follow``: follow a symlink in the last component too.  ``create``:
        make missing directories (used when applying layers).  Raises
        :class:`PathError`.
        """
        pending = split(path)
        if not path.startswith("/"):
            pending = split(cwd) + pending
        pending.reverse()
        stack: list[tuple[str, Node]] = [("", self.root)]
        hops = 0
        links: list[tuple[str, str]] = []
        clamped: list[str] = []
        while pending:
            c = pending.pop()
            if c == "..":
                if len(stack) > 1:
                    stack.pop()
                elif links:
                    clamped.append(links[-1][0])
                continue
            parent = stack[-1][1]
            # The path so far is built only when a message or a link needs
            # it: building it at every step costs the depth squared.
            here = lambda: join([n for n, _ in stack[1:]] + [c])  # noqa: E731
            if parent.kind != DIR:
                raise PathError("ENOTDIR", join([n for n, _ in stack[1:]]))
            assert parent.children is not None
            child = parent.children.get(c)
            if child is None:
                if not create:
                    raise PathError("ENOENT", here())
                child = parent.children[c] = Node(DIR)
            if child.kind == LINK and (pending or follow):
                hops += 1
                if hops > HOPS_MAX:
                    raise PathError("ELOOP", here())
                links.append((here(), child.target))
                if child.target.startswith("/"):
                    del stack[1:]
                pending.extend(reversed(split(child.target)))
                continue
            stack.append((c, child))
        return Resolved(join([n for n, _ in stack[1:]]), stack[-1][1], tuple(links), tuple(dict.fromkeys(clamped)))

    def lookup(self, path: str, cwd: str = "/", follow: bool = True) -> Node | None:
        try:
            return self.resolve(path, cwd, follow).node
        except PathError:
            return None

    def find_named(self, name: str, limit: int = 5) -> list[str]:
        """Paths (not following symlinks) whose last component is ``name``."""
        out: list[str] = []
        todo: list[tuple[str, Node]] = [("", self.root)]
        while todo and len(out) < limit:
            prefix, node = todo.pop()
            for n, child in sorted((node.children or {}).items(), reverse=True):
                p = f"{prefix}/{n}"
                if n == name and child.kind in (FILE, LINK):
                    out.append(p)
                if child.kind == DIR:
                    todo.append((p, child))
        return sorted(out)[:limit]

    def walk(self) -> Iterator[tuple[str, Node]]:
        todo: list[tuple[str, Node]] = [("", self.root)]
        while todo:
            prefix, node = todo.pop()
            for n, child in (node.children or {}).items():
                p = f"{prefix}/{n}"
                yield p, child
                if child.kind == DIR:
                    todo.append((p, child))

    # -- mutation (layer application) ---------------------------------------

    def put(self, comps: list[str], node: Node) -> None:
        parent = self.resolve(join(comps[:-1]), create=True).node
        if parent.kind != DIR:
            raise PathError("ENOTDIR", join(comps[:-1]))
        assert parent.children is not None
        old = parent.children.get(comps[-1])
        if node.kind == DIR and old is not None and old.kind == DIR:
            # A directory entry over a directory merges: new metadata, old children.
            old.mode, old.uid, old.gid, old.layer = node.mode, node.uid, node.gid, node.layer
            return
        parent.children[comps[-1]] = node

    def remove(self, comps: list[str]) -> None:
        try:
            parent = self.resolve(join(comps[:-1])).node
        except PathError:
            return
        if parent.children is not None:
            parent.children.pop(comps[-1], None)

    def make_opaque(self, comps: list[str]) -> None:
        node = self.lookup(join(comps))
        if node is not None and node.children is not None:
            node.children.clear()

    def hardlink(self, comps: list[str], target: list[str], layer: int) -> bool:
        try:
            t = self.resolve(join(target), follow=False).node
        except PathError:
            return False
        if t.kind == DIR:
            return False
        n = copy.copy(t)
        n.layer = layer
        self.put(comps, n)
        return True

    # -- file content -------------------------------------------------------

    def spool_writer(self) -> BinaryIO:
        if self._spool is None:
            self._spool = tempfile.TemporaryFile(prefix="archport-check-")
        self._spool.seek(0, io.SEEK_END)
        return self._spool

    def open(self, node: Node) -> BinaryIO | None:
        """The whole content of a spooled file, as a seekable stream."""
        if node.spool is None or self._spool is None:
            return None
        return _Window(self._spool, node.spool, node.size)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None


class _Window(Seekable):
    """A read-only view of ``size`` bytes at ``offset`` of a shared file."""

    def __init__(self, f: BinaryIO, offset: int, size: int) -> None:
        super().__init__()
        self._f, self._off, self.size, self.pos = f, offset, size, 0

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.pos
        if left <= 0:
            return b""
        n = left if n is None or n < 0 else min(n, left)
        self._f.seek(self._off + self.pos)
        data = self._f.read(n)
        self.pos += len(data)
        return data

    def readinto(self, b) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


# -- looking up a program, as Go's exec.LookPath does inside runc -----------

@dataclass(frozen=True, slots=True)
class Found:
    """Where ``exec.LookPath`` finds a name (``path`` None: not found)."""

    name: str
    path: str | None = None      # the candidate that is an executable file
    entry: str = ""              # the PATH entry it was found through
    relative: bool = False       # found only through a relative PATH entry (Go refuses it)
    errno: str = ""              # for a name with a slash: why it is not executable


def executable(fs: RootFS, path: str, cwd: str) -> str:
    """Go ``findExecutable``: "" when ``path`` is an executable file, else
    the errno (ENOENT, ENOTDIR, ELOOP, EISDIR or EACCES)."""
    try:
        node = fs.resolve(path, cwd).node
    except PathError as e:
        return e.errno
    if node.kind == DIR:
        return "EISDIR"
    if not node.executable:
        return "EACCES"
    return ""


def look_path(fs: RootFS, name: str, path_env: str, cwd: str = "/", skip_relative: bool = False) -> Found:
    """``exec.LookPath(name)`` in the image: a name with a ``/`` is used as
    is (relative to ``cwd``); any other is searched in ``path_env``, where an
    empty entry means the working directory.  A hit through a relative entry
    is reported (``relative``), or skipped with ``skip_relative``."""
    if "/" in name:
        err = executable(fs, name, cwd)
        return Found(name, None if err else name, errno=err)
    for d in path_env.split(":"):
        candidate = posixpath.join(d or ".", name)
        relative = not candidate.startswith("/")
        if relative and skip_relative:
            continue
        if not executable(fs, candidate, cwd):
            return Found(name, candidate, d, relative)
    return Found(name)
