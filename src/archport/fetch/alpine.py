"""A small Alpine repository client: the signed index, then each ``.apk`` verified.

The chain of trust is apk's (formats in :mod:`.apkformat`):

1. ``<mirror>/<branch>/<repo>/<arch>/APKINDEX.tar.gz``'s first gzip member
   signs the second; the signature is checked with ``openssl`` against the
   key file of the same name in a keys directory (``/etc/apk/keys``, the
   alpine-keys package's), and the index is read only from the member it
   signs;
2. the index's ``C:`` pins the SHA-1 of each package's control member;
3. the control member's ``.PKGINFO`` pins the SHA-256 of the data member;
4. each file in the data member carries its SHA-1, checked as it is
   unpacked (:mod:`archport.transplant.apkfiles`).

Because every byte is checked against the signed index, the mirror may be
reached over plain HTTP, as apk does.  The mirror URL is the first of the
machine's ``/etc/apk/repositories`` or one the caller names: no mirror host
is written here.  Verified packages are cached by their control SHA-1.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import httpx

from ..errors import FetchError
from .apkformat import Entry, gzip_members, parse_index, parse_pkginfo, q1, signature_name
from .http import DownloadError, fetch, fetch_bytes

KEYS_DIR = "/etc/apk/keys"
REPOSITORIES = "/etc/apk/repositories"
MAX_INDEX = 64 << 20           # community's APKINDEX.tar.gz is ~1.5 MB; far above any real one


class AlpineError(FetchError):
    """The repository could not give us the package, verified."""


def locate(mirror: str | None, keys: str | None, repositories: str = REPOSITORIES,
           keys_dir: str = KEYS_DIR) -> tuple[str, str]:
    """(mirror URL, keys directory): the ones named, else the machine's apk
    configuration; "" for what neither gives."""
    if not mirror and os.path.isfile(repositories):
        for line in Path(repositories).read_text("utf-8", "replace").splitlines():
            line = line.split("#", 1)[0].strip()
            m = re.match(r"(?:@\S+\s+)?(https?://\S+?)/(?:v\d+\.\d+|edge)/\w+/?$", line)
            if m:
                mirror = m.group(1)
                break
    if not keys and os.path.isdir(keys_dir):
        keys = keys_dir
    return (mirror or "").rstrip("/"), keys or ""


def branch_of(version: str) -> str:
    """``3.20`` → ``v3.20``; ``edge`` stays."""
    return version if version == "edge" else f"v{version}"


def verify_signed(blob: bytes, keys_dir: str, what: str) -> tuple[int, int, str]:
    """Check that ``blob``'s first gzip member signs its second with a key in
    ``keys_dir``; return the signed member's (offset, length) and the key's name."""
    try:
        members = gzip_members(io.BytesIO(blob))
    except (ValueError, OSError) as e:
        raise AlpineError(f"{what}: not a gzip stream ({e})") from None
    if len(members) < 2:
        raise AlpineError(f"{what}: unsigned (one gzip member; a signed file starts with a signature member)")
    off, length = members[0]
    try:
        with tarfile.open(fileobj=io.BytesIO(blob[off:off + length]), mode="r:gz") as t:
            sigs = [(m, signature_name(m.name)) for m in t.getmembers() if m.isfile()]
            sigs = [(t.extractfile(m).read(), found) for m, found in sigs if found]  # type: ignore[union-attr]
    except (tarfile.TarError, OSError, EOFError) as e:
        raise AlpineError(f"{what}: unreadable signature member ({e})") from None
    if not sigs:
        raise AlpineError(f"{what}: unsigned (no .SIGN.RSA member)")
    s_off, s_len = members[1]
    signed = blob[s_off:s_off + s_len]
    tried = []
    for signature, (key, digest) in sigs:
        path = Path(keys_dir) / key
        if "/" in key or not path.is_file():
            tried.append(f"{key} (not in {keys_dir})")
            continue
        if _openssl_verify(path, digest, signature, signed):
            return s_off, s_len, key
        tried.append(f"{key} (does not verify)")
    raise AlpineError(f"{what}: signature does not verify: {'; '.join(tried)}")


def _openssl_verify(key: Path, digest: str, signature: bytes, data: bytes) -> bool:
    if shutil.which("openssl") is None:
        raise AlpineError("openssl is not installed (apt-get install openssl): cannot verify Alpine signatures")
    with tempfile.TemporaryDirectory() as tmp:
        sig, body = Path(tmp) / "sig", Path(tmp) / "data"
        sig.write_bytes(signature)
        body.write_bytes(data)
        r = subprocess.run(["openssl", "dgst", f"-{digest}", "-verify", str(key), "-signature", str(sig), str(body)],
                           capture_output=True, timeout=60)
    return r.returncode == 0


class Repository:
    """One mirror, one keys directory, verified downloads cached in ``cache_dir``."""

    def __init__(self, mirror: str, keys_dir: str, cache_dir: Path, http: httpx.Client) -> None:
        if not os.path.isdir(keys_dir):
            raise AlpineError(f"Alpine keys directory {keys_dir} is missing (the alpine-keys package's /etc/apk/keys)")
        self.mirror, self.keys, self.cache_dir, self.http = mirror.rstrip("/"), keys_dir, cache_dir, http

    def url(self, branch: str, repo: str, arch: str, name: str) -> str:
        return f"{self.mirror}/{branch}/{repo}/{arch}/{name}"

    def index(self, branch: str, repo: str, arch: str) -> tuple[list[Entry], str] | None:
        """The verified index's entries and the key that signed it; None when
        the mirror has no such repository (HTTP 404)."""
        url = self.url(branch, repo, arch, "APKINDEX.tar.gz")
        try:
            blob = fetch_bytes(self.http, url, limit=MAX_INDEX, signed=True)
        except DownloadError as e:
            if e.status == 404:
                return None
            raise
        what = f"{branch}/{repo}/{arch}/APKINDEX.tar.gz"
        off, length, key = verify_signed(blob, self.keys, what)
        try:
            with tarfile.open(fileobj=io.BytesIO(blob[off:off + length]), mode="r:gz") as t:
                member = t.extractfile("APKINDEX")
                text = member.read().decode("utf-8", "replace") if member else ""
        except (KeyError, tarfile.TarError, OSError, EOFError) as e:
            raise AlpineError(f"{what}: no APKINDEX in the signed member ({e})") from None
        return parse_index(text, repo), key

    def package(self, branch: str, arch: str, entry: Entry) -> tuple[Path, tuple[int, int]]:
        """The ``.apk`` for ``entry``, its control member matching the index's
        ``C:`` and its data member matching ``.PKGINFO``'s ``datahash``; and
        where that data member is (offset, length)."""
        pinned = entry.sha1
        if len(pinned) != 20:
            raise AlpineError(f"{entry.filename}: the index pins no SHA-1 (C:{entry.checksum!r})")
        path = Path(self.cache_dir) / "alpine" / "sha1" / pinned.hex()
        if path.is_file():
            return path, data_member(path)
        url = self.url(branch, entry.repo or "main", arch, entry.filename)
        tmp = path.with_name(f".{path.name}.part")
        fetch(self.http, url, tmp, signed=True)         # verify_package checks the bytes against the index
        try:
            data = verify_package(tmp, entry)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path, data


def verify_package(path: Path, entry: Entry) -> tuple[int, int]:
    """Check ``path`` against ``entry``; return its data member's (offset, length)."""
    blob = path.read_bytes()
    what = entry.filename
    try:
        members = gzip_members(io.BytesIO(blob))
    except (ValueError, OSError) as e:
        raise AlpineError(f"{what}: not a gzip stream ({e})") from None
    # Two members when unsigned (control, data), three when signed.
    if len(members) not in (2, 3):
        raise AlpineError(f"{what}: {len(members)} gzip members, expected a control and a data member")
    (c_off, c_len), (d_off, d_len) = members[-2], members[-1]
    control = blob[c_off:c_off + c_len]
    if q1(control) != entry.checksum:
        raise AlpineError(f"{what}: checksum mismatch: the index pins {entry.checksum}, the file's control "
                          f"member is {q1(control)}")
    try:
        with tarfile.open(fileobj=io.BytesIO(control), mode="r:gz") as t:
            member = t.extractfile(".PKGINFO")
            info = parse_pkginfo(member.read().decode("utf-8", "replace") if member else "")
    except (KeyError, tarfile.TarError, OSError, EOFError):
        raise AlpineError(f"{what}: no .PKGINFO in the control member") from None
    if entry.size and len(blob) != entry.size:
        raise AlpineError(f"{what}: size mismatch: the index says {entry.size} bytes, the file has {len(blob)}")
    want = (info.get("datahash") or [""])[0]
    got = hashlib.sha256(blob[d_off:d_off + d_len]).hexdigest()
    if want != got:
        raise AlpineError(f"{what}: checksum mismatch: .PKGINFO's datahash is {want or 'absent'}, the data "
                          f"member is {got}")
    return d_off, d_len


def data_member(path: Path) -> tuple[int, int]:
    """(offset, length) of a verified ``.apk``'s data member."""
    with open(path, "rb") as fh:
        return gzip_members(fh)[-1]
