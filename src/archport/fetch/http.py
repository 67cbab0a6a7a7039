"""Verified HTTP downloads for the strategies that fetch files (release, c, deb).

Policy, the same as the registry client's (:mod:`archport.registry.hosts`): HTTPS with
verification; plain HTTP only to loopback — or when the bytes are checked
against a signed index anyway (``signed=True``: the Debian archive, whose
InRelease is verified with gpgv and chains SHA-256 sums down to each .deb,
which is why apt itself may use plain HTTP).  Every download streams through
SHA-256 into a temporary file that is renamed only when the size limit and
the expected digest hold, so a half-written or wrong file never has the final
name.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import httpx

from ..errors import BadInput, DigestMismatch, FetchError, TransportError
from ..reference import is_loopback_host
from ..streams import Seekable

MAX_DOWNLOAD = 1 << 30         # a release asset or .deb larger than 1 GiB is not what we expect
MAX_TEXT = 16 << 20            # checksum files, InRelease
_CHUNK = 1 << 20
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


class DownloadError(FetchError):
    """The server answered, but not with the file (``status`` is the HTTP status)."""

    def __init__(self, url: str, status: int, detail: str = "") -> None:
        self.url, self.status = url, status
        super().__init__(f"GET {url}: HTTP {status}" + (f" ({detail})" if detail else ""))


@contextmanager
def http_client(given: httpx.Client | None) -> Iterator[httpx.Client]:
    """``given`` (the CLI's client: proxies, CA) or a private one, TLS verified."""
    if given is not None:
        yield given
        return
    with httpx.Client(timeout=httpx.Timeout(120.0, connect=15.0), headers={"User-Agent": "archport"}) as c:
        yield c


def check_url(url: str, *, signed: bool = False) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- parsed lazily: an out-of-range port raises here
    except ValueError as e:  # an unclosed [IPv6, a port out of range
        raise BadInput(f"{url}: not a URL ({e})") from None
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and (signed or is_loopback_host(parts.netloc)):
        return
    raise BadInput(f"refusing to download {url}: only https:// (or http:// to loopback) is allowed")


def _safe(url: str) -> str:
    """The URL without userinfo or query, for messages."""
    p = urlsplit(url)
    host = p.hostname or ""
    if p.port:
        host += f":{p.port}"
    return f"{p.scheme}://{host}{p.path}"


@contextmanager
def _get(http: httpx.Client, url: str, headers: dict[str, str] | None = None) -> Iterator[httpx.Response]:
    try:
        with http.stream("GET", url, headers=headers, follow_redirects=True) as r:
            if r.status_code not in (200, 206):
                raise DownloadError(_safe(url), r.status_code)
            yield r
    except httpx.TransportError as e:
        raise TransportError(f"GET {_safe(url)}: {type(e).__name__}: {e}") from e
    except httpx.InvalidURL as e:  # not a TransportError: httpx refuses before connecting
        raise BadInput(f"GET {_safe(url)}: not a URL httpx can fetch ({e})") from None


def fetch_bytes(http: httpx.Client, url: str, *, limit: int = MAX_TEXT, signed: bool = False) -> bytes:
    check_url(url, signed=signed)
    out = bytearray()
    with _get(http, url) as r:
        try:
            for chunk in r.iter_bytes(_CHUNK):
                out += chunk
                if len(out) > limit:
                    raise DownloadError(_safe(url), r.status_code, f"larger than {limit} bytes")
        except httpx.TransportError as e:
            raise TransportError(f"GET {_safe(url)}: {type(e).__name__}: {e}") from e
    return bytes(out)


def fetch(http: httpx.Client, url: str, dest: Path, *, sha256: str | None = None,
          size: int | None = None, limit: int = MAX_DOWNLOAD, signed: bool = False) -> str:
    """Stream ``url`` into ``dest``; return its SHA-256 (hex).  With ``sha256``
    (and ``size``) the file must match or nothing is left behind
    (:class:`DigestMismatch`)."""
    check_url(url, signed=signed)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".download-", suffix=".tmp")
    h, n = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out, _get(http, url) as r:
            try:
                for chunk in r.iter_bytes(_CHUNK):
                    n += len(chunk)
                    if n > limit:
                        raise DownloadError(_safe(url), r.status_code, f"larger than {limit} bytes")
                    h.update(chunk)
                    out.write(chunk)
            except httpx.TransportError as e:
                raise TransportError(f"GET {_safe(url)}: {type(e).__name__}: {e}") from e
        got = h.hexdigest()
        if sha256 is not None and got != sha256.lower():
            raise DigestMismatch(f"sha256:{sha256.lower()}", f"sha256:{got}", _safe(url))
        if size is not None and n != size:
            raise DigestMismatch(f"{size} bytes", f"{n} bytes", _safe(url))
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return got


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_checksum(text: str, filename: str) -> str | None:
    """The SHA-256 for ``filename`` in a checksum file: ``sha256sum`` output
    (``<hex>  <name>``, ``*<name>`` in binary mode; one or many lines) or a
    file holding just the hash.  None when the file does not name it."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) == 1 and _HEX64.match(lines[0]):
        return lines[0].lower()
    for ln in lines:
        parts = ln.split(None, 1)
        if len(parts) != 2 or not _HEX64.match(parts[0]):
            continue
        name = parts[1].strip().lstrip("*")
        if name.startswith("./"):
            name = name[2:]
        if name == filename or name.rsplit("/", 1)[-1] == filename:
            return parts[0].lower()
    return None


class RangeFile(Seekable):
    """A read-only, seekable view of a remote file through HTTP range
    requests (RFC 9110 section 14), so :mod:`zipfile` can read one member of a
    large archive: the central directory at the end, then the member.  Reads
    are served from blocks of ``block`` bytes to keep the request count low."""

    def __init__(self, http: httpx.Client, url: str, size: int, block: int = 256 << 10) -> None:
        super().__init__()
        self.http, self.url, self.size, self.block = http, url, size, block
        self.pos = 0
        self.requests = 0
        self._cache: dict[int, bytes] = {}

    @classmethod
    def open(cls, http: httpx.Client, url: str) -> "RangeFile | None":
        """None when the server does not offer ranges (the caller downloads whole)."""
        check_url(url)
        try:
            r = http.head(url, follow_redirects=True)
        except httpx.TransportError as e:
            raise TransportError(f"HEAD {_safe(url)}: {type(e).__name__}: {e}") from e
        if r.status_code != 200:
            raise DownloadError(_safe(url), r.status_code)
        if r.headers.get("accept-ranges", "").lower() != "bytes" or "content-length" not in r.headers:
            return None
        return cls(http, str(r.url), int(r.headers["content-length"]))

    def _block(self, i: int) -> bytes:
        if i not in self._cache:
            start, end = i * self.block, min(self.size, (i + 1) * self.block) - 1
            with _get(self.http, self.url, {"Range": f"bytes={start}-{end}"}) as r:
                if r.status_code != 206:
                    raise DownloadError(_safe(self.url), r.status_code, "range request not honoured")
                data = r.read()
            self.requests += 1
            if len(data) != end - start + 1:
                raise DownloadError(_safe(self.url), 206, f"short range: {len(data)} bytes")
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[i] = data
        return self._cache[i]

    def readinto(self, b) -> int:  # type: ignore[override]
        if self.pos >= self.size:
            return 0
        want = min(len(b), self.size - self.pos)
        got = 0
        while got < want:
            i, off = divmod(self.pos, self.block)
            data = self._block(i)[off:off + want - got]
            b[got:got + len(data)] = data
            got += len(data)
            self.pos += len(data)
        return got
