"""Stream layer blobs into a :class:`~.tree.RootFS`, never onto the host.

The uncompressed bytes are hashed on the way through, so the config's
``rootfs.diff_ids`` can be checked: containerd refuses to unpack a layer
whose diff_id does not match.  Each layer's whiteouts are applied before its
additions (entries of a layer are never hidden by that layer's whiteouts).

Entries that could hurt an extractor are reported as :class:`Notice`, never
followed outside the root: names climbing above it with ``..`` (clamped),
absolute names, whiteouts that name no file of their directory, symlinks
whose relative target climbs above the root, hard links to missing entries
(containerd's unpack fails on them), device nodes and FIFOs.
"""

from __future__ import annotations

import hashlib
import queue
import tarfile
import threading
import zlib
from dataclasses import dataclass
from typing import Iterable, Iterator


from .. import zstd
from ..binaries.elf import is_elf
from ..errors import ArchportError, BadInput
from .compression import Stream, inflate
from .paths import DELETE, EMPTY, clean, join, parse_name
from .tree import DEV, DIR, FIFO, FILE, HEAD_SIZE, LINK, Node, PathError, RootFS

ERROR, WARNING = "error", "warning"
_BUF = 1 << 20


@dataclass(frozen=True, slots=True)
class Notice:
    """A hostile or odd entry: what it is and what was done about it.

    ``unpack_fails``: containerd's unpack of this layer would fail on it."""

    severity: str            # ERROR | WARNING
    code: str
    message: str
    path: str = ""
    runtime_error: str = ""
    unpack_fails: bool = False


class _Inflater(threading.Thread):
    """Decompress and hash a layer in a second thread.

    zlib, zstd and hashlib release the GIL on large buffers, so inflating the
    next megabyte overlaps with parsing tar headers in the caller's thread.
    Blocks (at most 1 MiB each) go through a bounded queue, so memory stays
    bounded; an exception is handed over and re-raised on the reading side.
    """

    def __init__(self, chunks: Iterable[bytes], limit: int | None) -> None:
        super().__init__(daemon=True)
        self._chunks = chunks
        self._limit = limit
        self.queue: queue.Queue = queue.Queue(maxsize=16)
        self.hash = hashlib.sha256()
        self.stopped = threading.Event()

    def _put(self, item) -> None:
        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def run(self) -> None:
        chunks = iter(self._chunks)
        try:
            for block in inflate(chunks, self._limit):
                if self.stopped.is_set():
                    return
                self.hash.update(block)
                self._put(block)
            self._put(None)
        except (OSError, EOFError, zlib.error, *zstd.errors()) as e:
            # Corrupt compressed data is usually a corrupt blob: read the rest,
            # so the source's digest check names it (DigestMismatch) rather
            # than leaving "not a readable tar layer" as the explanation.
            self._put(_drained(chunks, e))
        except BaseException as e:  # handed to the reader, raised there
            self._put(e)

    def next_block(self) -> bytes | None:
        item = self.queue.get()
        if isinstance(item, BaseException):
            raise item
        return item


def _drained(chunks, error: BaseException) -> BaseException:
    """Read what is left of a blob; the source's own digest check may then
    raise, and that explains the failure better than the decoder's error."""
    try:
        for _ in chunks:
            pass
    except ArchportError as e:
        return e
    except (OSError, ValueError):
        pass
    return error


def _keep_whole(comps: list[str], node: Node) -> bool:
    # ELF executables and shared objects: the program headers and dynamic
    # section can be anywhere in the file.
    return is_elf(node.head) and (node.executable or ".so" in comps[-1])


def apply_layer(fs: RootFS, index: int, chunks: Iterable[bytes], what: str,
                limit: int | None = None) -> tuple[str, list[Notice]]:
    """Apply one layer blob; return (diff_id, notices about hostile entries).

    ``what`` names the layer in messages; ``limit`` caps what it may expand
    to (:class:`~.compression.TooLarge`).  Raises :class:`BadInput` when the
    blob is not a (compressed) tar.
    """
    notices: list[Notice] = []
    inflater = _Inflater(chunks, limit)
    stream = Stream(inflater.next_block)
    ops: list[tuple[str, list[str], object]] = []
    deletes: list[list[str]] = []
    opaques: list[list[str]] = []
    inflater.start()
    try:
        with tarfile.open(fileobj=stream, mode="r:") as tf:  # type: ignore[arg-type]
            for m in tf:
                name = parse_name(m.name)
                comps = _judge(name, what, notices)
                if name.kind == EMPTY:
                    opaques.append(comps)
                    continue
                if name.kind == DELETE:
                    if not name.refused:
                        deletes.append(comps)
                    continue
                if not comps:
                    continue
                node = _node(fs, tf, m, comps, index, what, notices)
                if m.islnk():
                    ops.append(("link", comps, m.linkname))
                elif node is not None:
                    ops.append(("put", comps, node))
            tf.members = []      # metadata is in ``ops`` now
        stream.drain()
        diff_id = "sha256:" + inflater.hash.hexdigest()
    except (tarfile.TarError, OSError, EOFError, zlib.error, *zstd.errors()) as e:
        raise BadInput(f"{what} is not a readable tar layer: {e or type(e).__name__}") from None
    finally:
        inflater.stopped.set()
        inflater.join()
    for d in deletes:
        fs.remove(d)
    for d in opaques:
        fs.make_opaque(d)
    for op, comps, arg in ops:
        try:
            if op == "put":
                fs.put(comps, arg)  # type: ignore[arg-type]
                continue
            target, climbed = clean(str(arg))
            if climbed:
                notices.append(Notice(ERROR, "hostile-entry", f"{what}: hard link {join(comps)} points above the image root ({arg!r}); not followed", join(comps), unpack_fails=True))
            elif not fs.hardlink(comps, target, index):
                notices.append(Notice(ERROR, "hardlink-missing", f"{what}: hard link {join(comps)} points to {join(target)}, which does not exist (or is a directory)", join(comps), runtime_error="failed to extract layer: link: no such file or directory", unpack_fails=True))
        except PathError as e:
            notices.append(Notice(WARNING, "entry-skipped", f"{what}: {join(comps)} cannot be placed: {e.path} is {e.errno}", join(comps)))
    return diff_id, notices


def _judge(name, what: str, notices: list[Notice]) -> list[str]:
    comps = list(name.comps)
    if name.refused:
        notices.append(Notice(ERROR, "hostile-entry", f"{what}: {name.refused}; ignored, nothing deleted", name.raw))
    elif name.climbed:
        notices.append(Notice(ERROR, "hostile-entry", f"{what}: entry {name.raw!r} climbs above the image root with '..'; clamped to {name.path}, never written outside", name.path))
    elif name.absolute:
        notices.append(Notice(WARNING, "absolute-entry", f"{what}: entry {name.raw!r} has an absolute name; read as {name.path}", name.path))
    return comps


def _node(fs: RootFS, tf: tarfile.TarFile, m: tarfile.TarInfo, comps: list[str], index: int,
          what: str, notices: list[Notice]) -> Node | None:
    path = join(comps)
    kw = dict(mode=m.mode & 0o7777, uid=m.uid, gid=m.gid, layer=index)
    if m.isreg():
        node = Node(FILE, size=m.size, **kw)  # type: ignore[arg-type]
        f = tf.extractfile(m)
        assert f is not None
        want = HEAD_SIZE
        if path.startswith("/etc/ld.so.conf") and m.size <= 65536:
            want = m.size   # loader configuration: small text, read whole
        node.head = f.read(want)
        if fs.keeps_files and _keep_whole(comps, node):
            out = fs.spool_writer()
            node.spool = out.tell()
            out.write(node.head)
            while chunk := f.read(_BUF):
                out.write(chunk)
        return node
    if m.isdir():
        return Node(DIR, **kw)  # type: ignore[arg-type]
    if m.issym():
        _, climbed = clean(join(comps[:-1]) + "/" + m.linkname) if not m.linkname.startswith("/") else ([], False)
        if climbed:
            notices.append(Notice(WARNING, "symlink-escapes", f"{what}: symlink {path} -> {m.linkname!r} climbs above the image root; it resolves inside the root (clamped), never outside", path))
        return Node(LINK, target=m.linkname, **kw)  # type: ignore[arg-type]
    if m.islnk():
        return None
    if m.ischr() or m.isblk() or m.isfifo():
        kind = FIFO if m.isfifo() else DEV
        label = "FIFO" if m.isfifo() else ("character device" if m.ischr() else "block device")
        notices.append(Notice(WARNING, "device-file", f"{what}: {label} {path} in a layer (runtimes provide /dev; unprivileged unpack cannot create it)", path))
        return Node(kind, **kw)  # type: ignore[arg-type]
    notices.append(Notice(WARNING, "entry-skipped", f"{what}: {path} has unsupported tar type {m.type!r}; ignored", path))
    return None


def entries(chunks: Iterable[bytes], limit: int | None = None) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    """A layer's tar entries in order, streamed (``mode="r|"``): for readers
    that act on each entry as it comes (extraction, carrying files over).
    Judge each name with :func:`~.paths.parse_name`."""
    stream = Stream.of(inflate(chunks, limit))
    with tarfile.open(fileobj=stream, mode="r|") as tf:  # type: ignore[arg-type]
        for m in tf:
            yield tf, m
    # Read to the end: the blob's digest is verified as its last bytes pass.
    stream.drain()
