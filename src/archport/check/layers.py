"""Stream layer blobs into a :class:`~.rootfs.RootFS`, never onto the host.

A layer is a tar, possibly gzip- or zstd-compressed.  The compression is
sniffed from the bytes (gzip ``1f 8b``, zstd ``28 b5 2f fd``) rather than
trusted from the media type, as containerd does (``archive/compression``).
The uncompressed bytes are hashed on the way through, so the config's
``rootfs.diff_ids`` can be checked: containerd refuses to unpack a layer
whose diff_id does not match.

Entries that could hurt an extractor are reported, never followed outside
the root: names climbing above it with ``..`` (clamped), absolute names,
symlinks whose relative target climbs above the root, hard links to missing
entries (containerd's unpack fails on them), device nodes and FIFOs.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import queue
import tarfile
import threading
import zlib
from typing import Iterator

import zstandard

from ..errors import BadInput
from .findings import ERROR, UNPACK_FAILURE, WARNING, Finding
from .rootfs import DEV, DIR, FIFO, FILE, HEAD_SIZE, LINK, Node, PathError, RootFS, clean, join

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_BUF = 1 << 20
_ELF = b"\x7fELF"


class _Inflater(threading.Thread):
    """Decompress and hash a layer in a second thread.

    zlib, zstd and hashlib release the GIL on large buffers, so inflating the
    next megabyte overlaps with parsing tar headers in the caller's thread.
    Blocks go through a bounded queue; an exception is handed over and
    re-raised on the reading side.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__(daemon=True)
        self._chunks = chunks
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
        try:
            it = iter(self._chunks)
            first = b""
            for first in it:
                if first:
                    break
            if first.startswith(GZIP_MAGIC):
                out = self._gzip(first, it)
            elif first.startswith(ZSTD_MAGIC):
                out = self._zstd(first, it)
            else:
                out = itertools.chain((first,), it)
            for block in out:
                if self.stopped.is_set():
                    return
                if block:
                    self.hash.update(block)
                    self._put(block)
            self._put(None)
        except BaseException as e:  # handed to the reader, raised there
            self._put(e)

    @staticmethod
    def _gzip(first: bytes, it: Iterator[bytes]) -> Iterator[bytes]:
        return _members(first, it, lambda: zlib.decompressobj(31))

    @staticmethod
    def _zstd(first: bytes, it: Iterator[bytes]) -> Iterator[bytes]:
        dctx = zstandard.ZstdDecompressor()
        return _members(first, it, dctx.decompressobj)


def _members(first: bytes, it: Iterator[bytes], new) -> Iterator[bytes]:
    """Inflate concatenated members/frames (RFC 1952 2.2; zstd frames),
    tolerating zero padding after a member; a cut-off member is an error."""
    d = new()
    fed = False
    for chunk in itertools.chain((first,), it):
        while chunk:
            if not fed:
                chunk = chunk.lstrip(b"\0")
                if not chunk:
                    break
            fed = True
            yield d.decompress(chunk)
            if d.eof:
                chunk = d.unused_data
                d, fed = new(), False
            else:
                chunk = b""
    if fed:
        raise EOFError("compressed data ended before the end-of-stream marker")


class _Reader(io.RawIOBase):
    """The inflated stream, readable and seekable *forward* (tarfile skips
    member data by seeking; skipped bytes are dropped, never copied)."""

    def __init__(self, inflater: _Inflater) -> None:
        self._inf = inflater
        self._buf = memoryview(b"")
        self._pos = 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def _fill(self) -> bool:
        if self._eof:
            return False
        item = self._inf.queue.get()
        if item is None:
            self._eof = True
            return False
        if isinstance(item, BaseException):
            self._eof = True
            raise item
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


def _keep_whole(comps: list[str], node: Node) -> bool:
    # ELF executables and shared objects: the program headers and dynamic
    # section can be anywhere in the file.
    return node.head.startswith(_ELF) and (node.executable or ".so" in comps[-1])


def apply_layer(fs: RootFS, index: int, chunks: Iterator[bytes], what: str) -> tuple[str, list[Finding]]:
    """Apply one layer blob; return (diff_id, findings about hostile entries).

    ``what`` names the layer in messages.  Raises :class:`BadInput` when the
    blob is not a (compressed) tar.
    """
    findings: list[Finding] = []
    inflater = _Inflater(chunks)
    stream = _Reader(inflater)
    ops: list[tuple[str, list[str], object]] = []
    deletes: list[list[str]] = []
    opaques: list[list[str]] = []
    inflater.start()
    try:
        with tarfile.open(fileobj=stream, mode="r:") as tf:  # type: ignore[arg-type]
            for m in tf:
                comps = _name(m.name, what, findings)
                if not comps:
                    continue
                base = comps[-1]
                if base == ".wh..wh..opq":
                    opaques.append(comps[:-1])
                    continue
                if base.startswith(".wh."):
                    deletes.append(comps[:-1] + [base[4:]])
                    continue
                node = _node(fs, tf, m, comps, index, what, findings)
                if m.islnk():
                    ops.append(("link", comps, m.linkname))
                elif node is not None:
                    ops.append(("put", comps, node))
            tf.members = []      # metadata is in ``ops`` now
        stream.drain()
        diff_id = "sha256:" + inflater.hash.hexdigest()
    except (tarfile.TarError, OSError, EOFError, zlib.error, zstandard.ZstdError) as e:
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
                findings.append(Finding(ERROR, "hostile-entry", f"{what}: hard link {join(comps)} points above the image root ({arg!r}); not followed", join(comps), effect=UNPACK_FAILURE))
            elif not fs.hardlink(comps, target, index):
                findings.append(Finding(ERROR, "hardlink-missing", f"{what}: hard link {join(comps)} points to {join(target)}, which does not exist (or is a directory)", join(comps), runtime_error="failed to extract layer: link: no such file or directory", effect=UNPACK_FAILURE))
        except PathError as e:
            findings.append(Finding(WARNING, "entry-skipped", f"{what}: {join(comps)} cannot be placed: {e.path} is {e.errno}", join(comps)))
    return diff_id, findings


def _name(name: str, what: str, findings: list[Finding]) -> list[str]:
    comps, climbed = clean(name)
    if climbed:
        findings.append(Finding(ERROR, "hostile-entry", f"{what}: entry {name!r} climbs above the image root with '..'; clamped to {join(comps)}, never written outside", join(comps)))
    elif name.startswith("/"):
        findings.append(Finding(WARNING, "absolute-entry", f"{what}: entry {name!r} has an absolute name; read as {join(comps)}", join(comps)))
    return comps


def _node(fs: RootFS, tf: tarfile.TarFile, m: tarfile.TarInfo, comps: list[str], index: int,
          what: str, findings: list[Finding]) -> Node | None:
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
        if _keep_whole(comps, node):
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
            findings.append(Finding(WARNING, "symlink-escapes", f"{what}: symlink {path} -> {m.linkname!r} climbs above the image root; it resolves inside the root (clamped), never outside", path))
        return Node(LINK, target=m.linkname, **kw)  # type: ignore[arg-type]
    if m.islnk():
        return None
    if m.ischr() or m.isblk() or m.isfifo():
        kind = FIFO if m.isfifo() else DEV
        label = "FIFO" if m.isfifo() else ("character device" if m.ischr() else "block device")
        findings.append(Finding(WARNING, "device-file", f"{what}: {label} {path} in a layer (runtimes provide /dev; unprivileged unpack cannot create it)", path))
        return Node(kind, **kw)  # type: ignore[arg-type]
    findings.append(Finding(WARNING, "entry-skipped", f"{what}: {path} has unsupported tar type {m.type!r}; ignored", path))
    return None
