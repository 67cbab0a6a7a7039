"""A loopback Alpine repository, signed with a throwaway key: a stand-in for an Alpine mirror.

Alpine's mirrors are not reachable from here, so the tests of the transplant
onto an Alpine base read a repository written by this module, in the format
apk-tools reads and abuild writes (wiki.alpinelinux.org/wiki/Apk_spec):

- ``<branch>/<repo>/<arch>/APKINDEX.tar.gz``: two gzip streams.  The first is
  a tar holding one member, ``.SIGN.RSA.<key name>.pub``, whose content is the
  RSA PKCS#1 v1.5 signature with SHA-1 over the exact bytes of the second
  stream; that tar is cut (no end-of-archive blocks, as ``abuild-tar --cut``
  leaves it) so the two read as one tar.  The second is a complete gzip'd tar
  of ``DESCRIPTION`` and ``APKINDEX``, the text index: one block per package,
  ``C:Q1<base64 sha1 of the package's control stream>``, ``P:`` name,
  ``V:`` version, ``A:`` arch, ``S:`` .apk size, ``I:`` installed size, ``T:``
  ``U:`` ``L:`` ``o:`` ``m:`` ``t:`` ``c:``, ``D:`` depends and ``p:``
  provides (space-separated), each block ended by a blank line.
- ``<branch>/<repo>/<arch>/<name>-<version>.apk``: three gzip streams: the
  signature tar (cut) over stream 2; the control tar (cut) with ``.PKGINFO``,
  whose ``datahash`` is the SHA-256 of stream 3's bytes; the data tar
  (complete), where every regular file and symlink carries the PAX record
  ``APK-TOOLS.checksum.SHA1`` (of the content; of the target for a link).

The key is made with ``openssl genrsa``; its public half is written in PEM to
a directory that holds only public keys, named ``<name>.rsa.pub`` as in
Alpine's /etc/apk/keys, so a test hands that directory to ``--alpine-keys``.

:func:`riscv64_packages` fills such a repository with real riscv64 content
under Alpine's names: Debian's static busybox, CA certificates and time zone
data (fetched and verified by standins/debian.py from the machine's
Debian archive, unpacked with ``dpkg-deb --fsys-tarfile``).  The content's
origin is Debian; what the tests exercise is the Alpine chain of trust.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from standins.images import with_parents

BLOCK = 512
BUILDDATE = 1717200000           # 2024-06-01, fixed so the bytes are reproducible
PACKAGER = "archport tests <tests@example.invalid>"
URL = "https://example.invalid/archport-tests"


# -- the key ---------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    name: str        # "<name>.rsa", as in the signature member ".SIGN.RSA.<name>.pub"
    private: Path
    public: Path     # "<name>.pub" in a directory of public keys only

    @property
    def keys_dir(self) -> Path:
        return self.public.parent


def keypair(dir: Path, name: str = "archport-test@localhost-00000001") -> Key:
    """An RSA 2048 key: ``dir/private/<name>.rsa`` and ``dir/keys/<name>.rsa.pub``."""
    (dir / "private").mkdir(parents=True, exist_ok=True)
    (dir / "keys").mkdir(parents=True, exist_ok=True)
    key = Key(f"{name}.rsa", dir / "private" / f"{name}.rsa", dir / "keys" / f"{name}.rsa.pub")
    _openssl("genrsa", "-out", str(key.private), "2048")
    _openssl("rsa", "-in", str(key.private), "-pubout", "-out", str(key.public))
    return key


def sign(data: bytes, key: Key) -> bytes:
    """RSA PKCS#1 v1.5 over SHA-1 of ``data`` (what ``abuild-sign`` makes)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, sig = Path(tmp) / "data", Path(tmp) / "sig"
        src.write_bytes(data)
        _openssl("dgst", "-sha1", "-sign", str(key.private), "-out", str(sig), str(src))
        return sig.read_bytes()


def _openssl(*args: str) -> None:
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {r.stderr}")


# -- packages --------------------------------------------------------------------

@dataclass(frozen=True)
class Package:
    """``files`` takes the shapes of :func:`standins.images.layer_from_files`:
    bytes, ``(bytes, mode[, uid, gid])``, ``"->target"``, ``("dir", mode, uid, gid)``."""
    name: str
    version: str
    arch: str
    files: dict = field(default_factory=dict, hash=False)
    depends: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    origin: str = ""
    description: str = ""

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.apk"

    @property
    def installed_size(self) -> int:
        """Bytes on disk, counted in 4 KiB blocks as ``du`` does for abuild's ``size``."""
        total = 0
        for value in self.files.values():
            data = _content(value)
            total += -(-len(data) // 4096) * 4096 if data else 0
        return total or 4096


def gz(data: bytes) -> bytes:
    """One gzip stream as abuild's ``gzip -9`` makes it (mtime 0, OS unix)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def apk(pkg: Package, key: Key) -> bytes:
    data = gz(_data_tar(pkg.files))
    control = gz(_members([_regular(".PKGINFO", pkginfo(pkg, hashlib.sha256(data).hexdigest()).encode(),
                                    tarfile.PAX_FORMAT)]))
    return _signature(control, key) + control + data


def pkginfo(pkg: Package, datahash: str) -> str:
    lines = ["# Generated by archport's tests (a stand-in for abuild)",
             f"pkgname = {pkg.name}", f"pkgver = {pkg.version}", f"pkgdesc = {pkg.description or pkg.name}",
             f"url = {URL}", f"builddate = {BUILDDATE}", f"packager = {PACKAGER}",
             f"size = {pkg.installed_size}", f"arch = {pkg.arch}", f"origin = {pkg.origin or pkg.name}",
             "license = custom:archport-tests"]
    lines += [f"depend = {d}" for d in pkg.depends]
    lines += [f"provides = {p}" for p in pkg.provides]
    lines.append(f"datahash = {datahash}")
    return "\n".join(lines) + "\n"


def streams(blob: bytes) -> list[bytes]:
    """The gzip streams of an .apk or APKINDEX.tar.gz, as bytes (compressed)."""
    out, pos = [], 0
    while pos < len(blob):
        d = zlib.decompressobj(31)
        d.decompress(blob[pos:])
        if not d.eof:
            raise ValueError(f"truncated gzip stream at byte {pos}")
        end = len(blob) - len(d.unused_data)
        out.append(blob[pos:end])
        pos = end
    return out


def control_checksum(apk_bytes: bytes) -> str:
    """The index's ``C:`` value: ``Q1`` + base64 of the SHA-1 of the control stream."""
    return "Q1" + base64.b64encode(hashlib.sha1(streams(apk_bytes)[1]).digest()).decode()


# -- the index -------------------------------------------------------------------

def index(apks: list[tuple[Package, bytes]], key: Key, description: str = "v3.20.0-stand-in") -> bytes:
    blocks = []
    for pkg, blob in apks:
        lines = [f"C:{control_checksum(blob)}", f"P:{pkg.name}", f"V:{pkg.version}", f"A:{pkg.arch}",
                 f"S:{len(blob)}", f"I:{pkg.installed_size}", f"T:{pkg.description or pkg.name}", f"U:{URL}",
                 "L:custom:archport-tests", f"o:{pkg.origin or pkg.name}", f"m:{PACKAGER}", f"t:{BUILDDATE}",
                 f"c:{hashlib.sha1(f'{pkg.name}-{pkg.version}'.encode()).hexdigest()}"]
        if pkg.depends:
            lines.append("D:" + " ".join(pkg.depends))
        if pkg.provides:
            lines.append("p:" + " ".join(pkg.provides))
        blocks.append("\n".join(lines) + "\n\n")
    text = "".join(blocks).encode()
    body = gz(_members([_regular("DESCRIPTION", description.encode(), tarfile.GNU_FORMAT),
                        _regular("APKINDEX", text, tarfile.GNU_FORMAT)]) + b"\0" * (2 * BLOCK))
    return _signature(body, key) + body


def write_repo(root: Path, branch: str, repo: str, arch: str, packages: list[Package], key: Key) -> Path:
    """``root/<branch>/<repo>/<arch>/{APKINDEX.tar.gz, <name>-<version>.apk}``; returns that directory."""
    where = root / branch / repo / arch
    where.mkdir(parents=True, exist_ok=True)
    built = []
    for pkg in packages:
        blob = apk(pkg, key)
        (where / pkg.filename).write_bytes(blob)
        built.append((pkg, blob))
    (where / "APKINDEX.tar.gz").write_bytes(index(built, key))
    return where


# -- tar pieces ----------------------------------------------------------------------

def _signature(signed: bytes, key: Key) -> bytes:
    return gz(_members([_regular(f".SIGN.RSA.{key.name}.pub", sign(signed, key), tarfile.GNU_FORMAT, "")]))


def _regular(name: str, data: bytes, fmt: int, owner: str = "root") -> bytes:
    """One 0644 member owned by root (the signature's names no owner, as abuild's)."""
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), 0o644, BUILDDATE
    ti.uname = ti.gname = owner
    return ti.tobuf(fmt, "utf-8", "surrogateescape") + _padded(data)


def _members(chunks: list[bytes]) -> bytes:
    """Tar members one after the other, without the end-of-archive blocks (a cut tar)."""
    return b"".join(chunks)


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % BLOCK)


def _content(value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, tuple) and value and isinstance(value[0], bytes):
        return value[0]
    return b""


def _data_tar(files: dict) -> bytes:
    """The data stream's tar: parent directories first, entries sorted, a
    checksum PAX record on each file and link, the end-of-archive blocks."""
    out = []
    for name, value in with_parents(files):
        if value is None:
            out.append(_dir(name, 0o755, 0, 0))
            continue
        ti = tarfile.TarInfo(name)
        ti.mtime, ti.uname, ti.gname = BUILDDATE, "root", "root"
        if isinstance(value, str) and value.startswith("->"):
            ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, value[2:], 0o777
            ti.pax_headers = {"APK-TOOLS.checksum.SHA1": hashlib.sha1(value[2:].encode()).hexdigest()}
            out.append(ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
            continue
        if isinstance(value, tuple) and value[0] == "dir":
            out.append(_dir(name, *value[1:4]))
            continue
        data, mode, uid, gid = (value, 0o644, 0, 0) if isinstance(value, bytes) else (*value, 0, 0)[:4]
        ti.size, ti.mode, ti.uid, ti.gid = len(data), mode, uid, gid
        ti.uname, ti.gname = ("root" if uid == 0 else ""), ("root" if gid == 0 else "")
        ti.pax_headers = {"APK-TOOLS.checksum.SHA1": hashlib.sha1(data).hexdigest()}
        out.append(ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape") + _padded(data))
    return b"".join(out) + b"\0" * (2 * BLOCK)


def _dir(name: str, mode: int, uid: int, gid: int) -> bytes:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = tarfile.DIRTYPE, mode, uid, gid, BUILDDATE
    ti.uname, ti.gname = ("root" if uid == 0 else ""), ("root" if gid == 0 else "")
    return ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


# -- a riscv64 repository from Debian's content ------------------------------------------

ZONES = ("UTC", "Etc/UTC", "Europe/Berlin", "Europe/London", "Europe/Paris", "America/New_York", "Asia/Tokyo")


def alpine_version(debian_version: str) -> str:
    """Debian's upstream version as an Alpine one: ``1:1.37.0-4`` -> ``1.37.0-r0``,
    ``2025b-4`` -> ``2025b-r0`` (digits and dots, one optional letter)."""
    upstream = debian_version.split(":", 1)[-1].rsplit("-", 1)[0]
    m = re.match(r"\d+(?:\.\d+)*[a-z]?", upstream)
    if m is None:
        raise ValueError(f"no Alpine version in Debian's {debian_version!r}")
    return f"{m.group(0)}-r0"


def riscv64_packages() -> list[Package]:
    """busybox (static, at /bin/busybox), ca-certificates (the Mozilla .crt
    files only: the bundle is the configure step's to make) and tzdata (a few
    zones), from Debian's riscv64 packages."""
    from standins.debian import _fsys, fetch_debs

    got = {stanza["Package"]: (stanza, deb) for stanza, deb in
           fetch_debs("riscv64", ("busybox-static", "ca-certificates", "tzdata"))}

    def content(name: str) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
        return {m.name.removeprefix("./").rstrip("/"): (m, data) for m, data in _fsys(got[name][1])}

    bb_stanza = got["busybox-static"][0]
    bb = content("busybox-static")
    binary = next(data for path, (m, data) in bb.items() if path.endswith("bin/busybox") and m.isfile())
    bb_version = alpine_version(bb_stanza["Version"])
    busybox = Package("busybox", bb_version, "riscv64", {"bin/busybox": (binary, 0o755)},
                      provides=("/bin/sh", f"cmd:busybox={bb_version}", f"cmd:sh={bb_version}"),
                      description="Size optimized toolbox of many common UNIX utilities")

    ca = content("ca-certificates")
    certs = {path: (data, 0o644) for path, (m, data) in ca.items()
             if m.isfile() and path.startswith("usr/share/ca-certificates/mozilla/") and path.endswith(".crt")}
    assert certs, "Debian's ca-certificates has no usr/share/ca-certificates/mozilla/*.crt"
    certificates = Package("ca-certificates", alpine_version(got["ca-certificates"][0]["Version"]), "noarch",
                           certs, depends=("/bin/sh",),       # its trigger's shell, as Alpine's declares
                           description="Common CA certificates PEM files from Mozilla")

    tz = content("tzdata")
    zones = {}
    for zone in ZONES:
        path = f"usr/share/zoneinfo/{zone}"
        m, data = tz.get(path, (None, b""))
        if m is None:
            continue
        zones[path] = ("->" + m.linkname) if m.issym() else (data, 0o644)
    assert "usr/share/zoneinfo/Europe/Berlin" in zones, sorted(tz)[:20]
    tzdata = Package("tzdata", alpine_version(got["tzdata"][0]["Version"]), "noarch", zones,
                     description="Timezone data")
    return [busybox, certificates, tzdata]
