"""The user's inputs that deploy checks on this machine before any board is
touched: the registry the boards pull from, and an airgap tarball."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import os
import re
import tarfile
from dataclasses import dataclass

from .. import zstd
from ..errors import BadInput, BadReference
from ..reference import valid_host
from .plan import AirgapFile

_PREFIX = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TRANSPORT = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?![0-9])")
# The names k3s imports from agent/images/ (pkg/agent/containerd, by suffix).
AIRGAP_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst", ".tar.bz2", ".tbz", ".tar.lz4")
_LZ4_MAGIC = b"\x04\x22\x4d\x18"


@dataclass(frozen=True, slots=True)
class RegistrySpec:
    host: str
    prefix: str = ""
    scheme: str | None = None       # None: decided by --plain-http / loopback


def parse_registry(text: str) -> RegistrySpec:
    """``REG[/PREFIX]``, optionally ``http://`` or ``https://`` in front."""
    original, scheme = text, None
    if not text or not text.strip():
        raise BadInput("--registry '': expected HOST[:PORT][/PREFIX]")
    if "://" in text:
        scheme, _, text = text.partition("://")
        if scheme not in ("http", "https"):
            raise BadInput(f"--registry {original!r}: scheme {scheme!r} is not http or https")
    elif _TRANSPORT.match(text):
        raise BadInput(f"--registry {original!r}: {text.split(':', 1)[0]!r} is not a registry scheme "
                       "(expected HOST[:PORT][/PREFIX], optionally with http:// or https://)")
    text = text.strip("/")
    host, _, prefix = text.partition("/")
    try:
        valid_host(host)
    except BadReference as e:
        raise BadInput(f"--registry {original!r}: {e}") from None
    if "." not in host and ":" not in host and host != "localhost":
        raise BadInput(f"--registry {original!r}: {host!r} does not name a registry host "
                       "(expected HOST[:PORT][/PREFIX], e.g. 192.168.1.10:5000/riscv)")
    if prefix and not _PREFIX.fullmatch(prefix):
        raise BadInput(f"--registry {original!r}: bad repository prefix {prefix!r}")
    return RegistrySpec(host, prefix, scheme)


def _head(path: str, n: int = 1024) -> bytes:
    """The first ``n`` bytes of the archive, decompressed."""
    with open(path, "rb") as f:
        magic = f.read(4)
        f.seek(0)
        if magic.startswith(b"\x1f\x8b"):
            return gzip.GzipFile(fileobj=f).read(n)
        if magic == b"\x28\xb5\x2f\xfd":
            return zstd.module().ZstdDecompressor(max_window_size=2 ** 31).stream_reader(f).read(n)
        if magic.startswith(b"BZh"):
            return bz2.BZ2File(f).read(n)
        if magic == _LZ4_MAGIC:
            return b""
        return f.read(n)


def _is_tar_block(block: bytes) -> bool:
    if len(block) < 512:
        return False
    try:
        tarfile.TarInfo.frombuf(block[:512], "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


def check_airgap(path: str) -> AirgapFile:
    """A tarball k3s will import: a known suffix and, inside, a tar archive.
    Anything else is bad input (exit 2)."""
    if not os.path.isfile(path):
        raise BadInput(f"--airgap {path}: no such file")
    name = os.path.basename(path)
    if not name.endswith(AIRGAP_SUFFIXES):
        raise BadInput(f"--airgap {path}: k3s imports only {', '.join(AIRGAP_SUFFIXES)} files from agent/images/")
    try:
        head = _head(path)
    except (OSError, EOFError, ValueError, *zstd.errors()) as e:
        raise BadInput(f"--airgap {path}: not an archive ({e})") from None
    if not (name.endswith(".tar.lz4") or _is_tar_block(head)):
        raise BadInput(f"--airgap {path}: not a tar archive")
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return AirgapFile(os.path.abspath(path), name, h.hexdigest(), size)
