"""A small Debian archive client: one file out of one binary package, verified.

The chain of trust is apt's (https://wiki.debian.org/DebianRepository/Format):

1. ``dists/<suite>/InRelease`` is OpenPGP-signed; ``gpgv`` checks it against
   the archive keyring and we read only the signed text it outputs;
2. that text lists the SHA-256 of ``<component>/binary-<arch>/Packages.xz``;
3. the package's stanza there gives its ``Filename`` and ``SHA256``;
4. the ``.deb`` is an ``ar`` archive (``debian-binary``, ``control.tar.*``,
   ``data.tar.*``, see deb(5)); the file is read out of ``data.tar.{xz,zst,gz}``
   in Python, no dpkg needed.

Because every byte is checked against the signed index, the archive may be
reached over plain HTTP, as apt does.  The archive URL is the first ``deb``
source of the machine's apt configuration or one the caller names: no
mirror host is written here.  Downloads are cached by SHA-256.
"""

from __future__ import annotations

import io
import lzma
import os
import posixpath
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import httpx

from .. import zstd
from ..errors import BadInput, FetchError
from .http import DownloadError, fetch, fetch_bytes

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
SOURCES_LIST = "/etc/apt/sources.list"
SOURCES_DIR = "/etc/apt/sources.list.d"

# GOARCH -> Debian architecture name (dpkg-architecture -L).
DEB_ARCH = {"amd64": "amd64", "arm64": "arm64", "arm": "armhf", "386": "i386", "ppc64le": "ppc64el",
            "s390x": "s390x", "riscv64": "riscv64", "mips64le": "mips64el", "loong64": "loong64"}


class DebianError(FetchError):
    """The archive could not give us the file, verified."""


@dataclass(frozen=True, slots=True)
class AptSource:
    uri: str
    suites: tuple[str, ...]
    signed_by: str = ""


# -- apt sources (pure parsers + one reader) -----------------------------------

def parse_sources_list(text: str) -> list[AptSource]:
    """One-line format: ``deb [opt=val ...] URI suite [component...]``."""
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line.startswith("deb ") and not line.startswith("deb\t"):
            continue
        rest = line[3:].strip()
        opts = {}
        if rest.startswith("["):
            end = rest.find("]")
            if end < 0:
                continue
            for kv in rest[1:end].split():
                k, _, v = kv.partition("=")
                opts[k] = v
            rest = rest[end + 1:].strip()
        parts = rest.split()
        if len(parts) >= 2:
            out.append(AptSource(parts[0].rstrip("/"), (parts[1],), opts.get("signed-by", "")))
    return out


def parse_deb822(text: str) -> list[AptSource]:
    """deb822 ``.sources`` stanzas (sources.list(5)): Types, URIs, Suites, Signed-By."""
    out = []
    for stanza in parse_stanzas(text):
        if stanza.get("Enabled", "yes").lower() == "no" or "deb" not in stanza.get("Types", "").split():
            continue
        signed = stanza.get("Signed-By", "").strip()
        if "\n" in signed:            # an inline key block, not a path
            signed = ""
        for uri in stanza.get("URIs", "").split():
            out.append(AptSource(uri.rstrip("/"), tuple(stanza.get("Suites", "").split()), signed))
    return out


def parse_stanzas(text: str) -> Iterator[dict[str, str]]:
    """RFC 822-style paragraphs (deb822(5)); continuation lines are joined with newlines."""
    cur: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.strip():
            if cur:
                yield cur
            cur, key = {}, None
        elif line[0] in " \t":
            if key is not None:
                cur[key] += "\n" + line.strip()
        elif line.startswith("#"):
            continue
        else:
            k, _, v = line.partition(":")
            key = k.strip()
            cur[key] = v.strip()
    if cur:
        yield cur


def apt_sources(sources_list: str = SOURCES_LIST, sources_dir: str = SOURCES_DIR) -> list[AptSource]:
    found: list[AptSource] = []
    if os.path.isfile(sources_list):
        found += parse_sources_list(Path(sources_list).read_text("utf-8", "replace"))
    if os.path.isdir(sources_dir):
        for name in sorted(os.listdir(sources_dir)):
            p = Path(sources_dir) / name
            if name.endswith(".list"):
                found += parse_sources_list(p.read_text("utf-8", "replace"))
            elif name.endswith(".sources"):
                found += parse_deb822(p.read_text("utf-8", "replace"))
    return found


def locate(archive: str | None, keyring: str | None, sources: tuple[str, str] = (SOURCES_LIST, SOURCES_DIR)
           ) -> tuple[str, str]:
    """(archive URL, keyring): the one named, else the machine's first apt
    source with its Signed-By, else Debian's keyring; ("", "") when neither."""
    if archive:
        return archive.rstrip("/"), keyring or KEYRING
    srcs = apt_sources(*sources)
    if not srcs:
        return "", ""
    return srcs[0].uri, keyring or srcs[0].signed_by or KEYRING


# -- Release / Packages ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReleaseFile:
    fields: dict[str, str]
    sha256: dict[str, tuple[str, int]]   # path below dists/<suite>/ -> (hex, size)


def parse_release(text: str) -> ReleaseFile:
    stanza = next(parse_stanzas(text), {})
    sums: dict[str, tuple[str, int]] = {}
    for line in stanza.get("SHA256", "").splitlines():
        parts = line.split()
        if len(parts) == 3 and re.fullmatch(r"[0-9a-f]{64}", parts[0]):
            sums[parts[2]] = (parts[0], int(parts[1]))
    return ReleaseFile({k: v for k, v in stanza.items() if k != "SHA256"}, sums)


def find_package(packages: bytes, name: str) -> dict[str, str] | None:
    """The stanza of ``name`` in a Packages index (the first, as apt lists one per version)."""
    m = re.search(rb"(?:^|\n)Package: " + re.escape(name.encode()) + rb"\n", packages)
    if m is None:
        return None
    start = m.start() + (1 if packages[m.start():m.start() + 1] == b"\n" else 0)
    end = packages.find(b"\n\n", start)
    chunk = packages[start:end if end >= 0 else len(packages)].decode("utf-8", "replace")
    return next(parse_stanzas(chunk), None)


def verify_signed(data: bytes, keyring: str) -> bytes:
    """The text gpgv verified (only the signed part is returned, never text around it)."""
    if shutil.which("gpgv") is None:
        raise DebianError("gpgv is not installed (apt-get install gpgv): cannot verify the Debian archive")
    if not os.path.isfile(keyring):
        raise DebianError(f"keyring {keyring} is missing (apt-get install debian-archive-keyring)")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "InRelease"
        src.write_bytes(data)
        out = Path(tmp) / "signed"
        r = subprocess.run(["gpgv", "--keyring", keyring, "--output", str(out), str(src)],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or not out.exists():
            detail = " ".join(ln for ln in r.stderr.splitlines() if "gpgv:" in ln)[-400:]
            raise DebianError(f"InRelease signature does not verify with {keyring}: {detail or 'gpgv failed'}")
        return out.read_bytes()


# -- .deb files -----------------------------------------------------------------

def ar_members(fh: BinaryIO) -> Iterator[tuple[str, int, int]]:
    """(name, offset, size) of each member of an ar archive (deb(5), ar(5))."""
    if fh.read(8) != b"!<arch>\n":
        raise BadInput("not a .deb (ar) archive")
    while True:
        header = fh.read(60)
        if not header:
            return
        if len(header) < 60 or header[58:60] != b"`\n":
            raise BadInput("malformed ar member header in .deb")
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip() or 0)
        offset = fh.tell()
        yield name, offset, size
        fh.seek(offset + size + (size & 1))       # members are 2-byte aligned


class _Slice(io.RawIOBase):
    def __init__(self, fh: BinaryIO, offset: int, size: int) -> None:
        super().__init__()
        self.fh, self.offset, self.left = fh, offset, size
        fh.seek(offset)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        n = min(len(b), self.left)
        if n <= 0:
            return 0
        data = self.fh.read(n)
        b[:len(data)] = data
        self.left -= len(data)
        return len(data)


def open_data(fh: BinaryIO) -> tarfile.TarFile:
    """The ``data.tar`` member of a ``.deb`` as a streaming tar (deb(5))."""
    for name, offset, size in ar_members(fh):
        if not name.startswith("data.tar"):
            continue
        raw = io.BufferedReader(_Slice(fh, offset, size), 1 << 20)
        if name == "data.tar.zst":
            stream = zstd.module().ZstdDecompressor().stream_reader(raw)
            return tarfile.open(fileobj=stream, mode="r|")
        modes = {"data.tar.xz": "r|xz", "data.tar.gz": "r|gz", "data.tar": "r|"}
        if name not in modes:
            raise BadInput(f".deb has {name}, a compression we do not read")
        return tarfile.open(fileobj=raw, mode=modes[name])
    raise BadInput(".deb has no data.tar member")


def list_deb(deb: Path) -> dict[str, tarfile.TarInfo]:
    """Every path of the package (``/usr/bin/busybox``) -> its tar entry."""
    with open(deb, "rb") as fh, open_data(fh) as tar:
        return {_path(ti.name): ti for ti in tar}


def _path(name: str) -> str:
    """``./usr/bin/x`` -> ``/usr/bin/x``."""
    n = posixpath.normpath(name)
    return "/" if n == "." else "/" + n.lstrip("/")


def resolve_in_deb(entries: dict[str, tarfile.TarInfo], path: str) -> str | None:
    """``path`` following symlinks inside the package; merged-/usr aware: a
    package built after Debian's /usr merge (DEP 17, trixie) ships
    ``/usr/bin/x`` where older ones shipped ``/bin/x``."""
    for candidate in (path, *(["/usr" + path] if re.match(r"^/(bin|sbin|lib)/", path) else [])):
        seen = 0
        p = candidate
        while p in entries and entries[p].issym() and seen < 16:
            t = entries[p].linkname
            p = posixpath.normpath(t if t.startswith("/") else posixpath.join(posixpath.dirname(p), t))
            seen += 1
        if p in entries and entries[p].isfile():
            return p
    return None


def extract_file(deb: Path, path: str, dest: Path) -> str:
    """Write ``path`` from the package to ``dest``; returns the package path used."""
    real = resolve_in_deb(list_deb(deb), path)
    if real is None:
        raise DebianError(f"{deb.name} has no regular file at {path}")
    with open(deb, "rb") as fh, open_data(fh) as tar:
        for ti in tar:
            if _path(ti.name) == real:
                src = tar.extractfile(ti)
                assert src is not None
                with src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                return real
    raise DebianError(f"{deb.name}: {real} vanished between two reads")


# -- the archive ----------------------------------------------------------------

@dataclass
class Archive:
    url: str                       # e.g. the URI of the first ``deb`` line of apt's sources
    cache_dir: Path
    http: httpx.Client
    keyring: str = KEYRING

    def release(self, suite: str) -> ReleaseFile:
        data = fetch_bytes(self.http, f"{self.url}/dists/{suite}/InRelease", signed=True)
        rel = parse_release(verify_signed(data, self.keyring).decode("utf-8", "replace"))
        if suite not in (rel.fields.get("Suite"), rel.fields.get("Codename")):
            raise DebianError(f"{self.url}/dists/{suite}/InRelease is signed for "
                              f"{rel.fields.get('Codename') or rel.fields.get('Suite')}, not {suite}")
        return rel

    def packages(self, rel: ReleaseFile, suite: str, arch: str, component: str = "main") -> bytes:
        key = f"{component}/binary-{arch}/Packages.xz"
        if key not in rel.sha256:
            archs = rel.fields.get("Architectures", "?")
            raise DebianError(f"{suite} has no {key} (its architectures: {archs})")
        digest, size = rel.sha256[key]
        url = f"{self.url}/dists/{suite}/{key}"
        path = None
        if rel.fields.get("Acquire-By-Hash", "").lower() == "yes":
            # The file by its hash stays put while the mirror syncs; the plain
            # name may already hold the next index (apt does the same:
            # wiki.debian.org/DebianRepository/Format#indices_acquisition_via_hashsums_.28by-hash.29).
            # The same page lets a client fall back to the canonical name when
            # by-hash fails; that file is checked against the same signed digest.
            try:
                path = self._cached(f"{self.url}/dists/{suite}/{component}/binary-{arch}/by-hash/SHA256/{digest}",
                                    digest, size)
            except DownloadError as e:
                if e.status != 404:
                    raise
        if path is None:
            path = self._cached(url, digest, size)
        return lzma.decompress(path.read_bytes())

    def deb(self, stanza: dict[str, str]) -> Path:
        if "Filename" not in stanza or "SHA256" not in stanza:
            raise DebianError(f"package {stanza.get('Package')} has no Filename/SHA256 in the index")
        return self._cached(f"{self.url}/{stanza['Filename']}", stanza["SHA256"], int(stanza.get("Size", "0")) or None)

    def _cached(self, url: str, digest: str, size: int | None) -> Path:
        path = Path(self.cache_dir) / "debian" / "sha256" / digest
        if not path.is_file():
            fetch(self.http, url, path, sha256=digest, size=size, signed=True)
        return path
