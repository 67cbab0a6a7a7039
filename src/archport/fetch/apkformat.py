"""Alpine's package formats as values: the signed ``APKINDEX``, ``.apk``
segments and ``.PKGINFO``.

The formats are apk-tools v2's (the apk-spec "APK v2 package format" and
"APKINDEX format" pages, https://wiki.alpinelinux.org/wiki/Apk_spec):

* an ``.apk`` is three gzip members one after another: a signature (a tar
  holding ``.SIGN.RSA.<key>.rsa.pub``, PKCS#1 v1.5 over the *compressed*
  bytes of the next member; ``.SIGN.RSA256.`` for SHA-256), the control
  (``.PKGINFO`` and the scripts, never read here beyond ``.PKGINFO``) and
  the data, a tar whose regular files carry a PAX header
  ``APK-TOOLS.checksum.SHA1``.  ``.PKGINFO``'s ``datahash`` is the SHA-256
  of the data member's compressed bytes;
* ``APKINDEX.tar.gz`` is a signature member and a member holding
  ``DESCRIPTION`` and ``APKINDEX``; each APKINDEX block's ``C:`` is ``Q1``
  and the base64 SHA-1 of that package's control member.

So a signed index pins each package's control member, which pins its data
member: nothing unpacked is trusted on the server's word.  The client that
checks the chain is :mod:`.alpine`.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from dataclasses import dataclass
from typing import BinaryIO

SIGN_PREFIXES = {".SIGN.RSA.": "sha1", ".SIGN.RSA256.": "sha256"}


@dataclass(frozen=True, slots=True)
class Entry:
    """One APKINDEX block."""

    name: str
    version: str
    arch: str = ""
    checksum: str = ""               # C: "Q1" + base64(sha1(control member))
    size: int = 0                    # S: the .apk's size
    depends: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    priority: int = 0                # k: provider_priority
    origin: str = ""
    fields: tuple[tuple[str, str], ...] = ()     # every line, in order, for the installed database
    repo: str = ""                   # the repository it was listed in (main, community)

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.apk"

    @property
    def sha1(self) -> bytes:
        """The control member's SHA-1 the index pins (b"" when it pins none)."""
        if not self.checksum.startswith("Q1"):
            return b""
        try:
            return base64.b64decode(self.checksum[2:], validate=True)
        except ValueError:
            return b""


def parse_index(text: str, repo: str = "") -> list[Entry]:
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        fields: list[tuple[str, str]] = []
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep and len(key) == 1:
                fields.append((key, value))
        f = dict(fields)
        if "P" not in f or "V" not in f:
            continue
        try:
            size, priority = int(f.get("S", "0") or 0), int(f.get("k", "0") or 0)
        except ValueError:
            size, priority = 0, 0
        out.append(Entry(f["P"], f["V"], f.get("A", ""), f.get("C", ""), size, tuple(f.get("D", "").split()),
                         tuple(f.get("p", "").split()), priority, f.get("o", ""), tuple(fields), repo))
    return out


def q1(control: bytes) -> str:
    """The ``C:`` value for a control member's bytes."""
    return "Q1" + base64.b64encode(hashlib.sha1(control).digest()).decode()


# -- gzip members ---------------------------------------------------------------

def gzip_members(fh: BinaryIO, *, chunk: int = 1 << 20) -> list[tuple[int, int]]:
    """(offset, length) of each gzip member of ``fh``, in order, reading it once."""
    out: list[tuple[int, int]] = []
    start = 0                 # where the current member begins
    fed = 0                   # its bytes fed to the decompressor so far
    d = zlib.decompressobj(31)
    buf = b""
    while True:
        if not buf:
            buf = fh.read(chunk)
            if not buf:
                break
        try:
            d.decompress(buf)  # the output is not kept: only the member's end is wanted
        except zlib.error as e:
            raise ValueError(f"gzip member at byte {start}: {e}") from None
        if d.eof:
            used = len(buf) - len(d.unused_data)
            out.append((start, fed + used))
            start += fed + used
            fed = 0
            buf = d.unused_data
            d = zlib.decompressobj(31)
        else:
            fed += len(buf)
            buf = b""
    if fed:
        raise ValueError("the last gzip member is truncated")
    return out


def signature_name(member: str) -> tuple[str, str] | None:
    """(key file name, digest) for a ``.SIGN.*`` member name, else None."""
    for prefix, digest in SIGN_PREFIXES.items():
        if member.startswith(prefix) and len(member) > len(prefix):
            return member[len(prefix):], digest
    return None


def parse_pkginfo(text: str) -> dict[str, list[str]]:
    """``.PKGINFO``: ``key = value`` lines; keys may repeat (depend, provides)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or " = " not in line:
            continue
        key, _, value = line.partition(" = ")
        out.setdefault(key.strip(), []).append(value.strip())
    return out
