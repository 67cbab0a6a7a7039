"""The loopback Alpine repository writer (tests/support/apkrepo.py), judged
independently: tar headers walked by hand, GNU tar, ``openssl dgst -verify``.

The layout asserted is that of real Alpine packages and indexes as abuild
writes them (apk-tools' reader depends on it): an .apk is three gzip streams
(signature, control, data); the first two hold tars cut before their
end-of-archive blocks so that the three, decompressed one after the other,
read as one tar; the index is a signature stream and a complete tar.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import subprocess
import tarfile
import zlib
from pathlib import Path

import pytest

from tests.support import apkrepo

FILES = {"usr/bin/hello": (b"#!/bin/sh\necho hello\n", 0o755), "etc/hello.conf": b"greeting=hi\n",
         "usr/bin/hi": "->hello", "var/empty": ("dir", 0o700, 0, 0)}
PKG = apkrepo.Package("hello", "1.2.3-r4", "riscv64", FILES, depends=("busybox", "so:libc.musl-riscv64.so.1"),
                      provides=("cmd:hello=1.2.3-r4", "cmd:hi=1.2.3-r4"), description="says hello")
OTHER = apkrepo.Package("zoneinfo", "2024a-r0", "noarch", {"usr/share/zoneinfo/UTC": b"TZif2\0"})


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return apkrepo.keypair(tmp_path_factory.mktemp("apk-key"))


@pytest.fixture(scope="module")
def blob(key):
    return apkrepo.apk(PKG, key)


def walk(raw: bytes) -> tuple[list[tuple[str, bytes, bytes]], int]:
    """(name, typeflag, content) of each tar member, pax headers included,
    and how many 512-byte blocks follow the last member (zero blocks)."""
    members, pos = [], 0
    while pos + 512 <= len(raw):
        header = raw[pos:pos + 512]
        if header == b"\0" * 512:
            break
        name = header[:100].rstrip(b"\0").decode()
        size = int(header[124:136].rstrip(b"\0 ").decode() or "0", 8)
        members.append((name, header[156:157], raw[pos + 512:pos + 512 + size]))
        pos += 512 + -(-size // 512) * 512
    tail = raw[pos:]
    assert tail == b"\0" * len(tail) and len(tail) % 512 == 0, "bytes after the last member are not end blocks"
    return members, len(tail) // 512


def gunzip(stream: bytes) -> bytes:
    d = zlib.decompressobj(31)
    out = d.decompress(stream)
    assert d.eof and not d.unused_data
    return out


def pax(member_content: bytes) -> dict[str, str]:
    out = {}
    for line in member_content.decode().splitlines():
        _, _, kv = line.partition(" ")
        k, _, v = kv.partition("=")
        out[k] = v
    return out


def openssl_verify(public: Path, signature: bytes, data: bytes, tmp: Path) -> subprocess.CompletedProcess:
    (tmp / "sig").write_bytes(signature)
    (tmp / "data").write_bytes(data)
    return subprocess.run(["openssl", "dgst", "-sha1", "-verify", str(public), "-signature", str(tmp / "sig"),
                           str(tmp / "data")], capture_output=True, text=True)


def test_an_apk_is_three_gzip_streams_laid_out_as_abuild_lays_them(blob, key):
    sig, control, data = apkrepo.streams(blob)
    assert sig + control + data == blob
    for s in (sig, control, data):
        assert s[:3] == b"\x1f\x8b\x08"                        # each one a whole gzip member
    members, end = walk(gunzip(sig))
    assert [m[0] for m in members] == [f".SIGN.RSA.{key.name}.pub"] and end == 0
    assert key.name == "archport-test@localhost-00000001.rsa"
    assert len(members[0][2]) == 256                           # RSA 2048
    members, end = walk(gunzip(control))
    assert [m[0] for m in members if m[1] != b"x"] == [".PKGINFO"] and end == 0
    members, end = walk(gunzip(data))
    assert end >= 2, "the data tar must be complete"
    assert [m[0] for m in members if m[1] != b"x"] == ["etc/", "etc/hello.conf", "usr/", "usr/bin/",
                                                          "usr/bin/hello", "usr/bin/hi", "var/", "var/empty/"]


def test_the_three_streams_read_as_one_tar(blob, key, tmp_path):
    """What a cut tar is for: gzip and tar readers see one archive."""
    whole = gzip.decompress(blob)
    with tarfile.open(fileobj=io.BytesIO(whole)) as tar:
        names = tar.getnames()
    assert names[:3] == [f".SIGN.RSA.{key.name}.pub", ".PKGINFO", "etc"] and len(names) == 10
    (tmp_path / "p.apk").write_bytes(blob)
    listed = subprocess.run(["tar", "-tzf", str(tmp_path / "p.apk")], capture_output=True, text=True, check=True)
    assert listed.stdout.splitlines()[:2] == [f".SIGN.RSA.{key.name}.pub", ".PKGINFO"]
    assert "usr/bin/hello" in listed.stdout.splitlines()


def test_pkginfo_names_the_package_and_the_data_hash(blob):
    _, control, data = apkrepo.streams(blob)
    members, _ = walk(gunzip(control))
    info = next(c for n, t, c in members if n == ".PKGINFO").decode()
    lines = [ln for ln in info.splitlines() if ln and not ln.startswith("#")]
    pairs = [tuple(ln.split(" = ", 1)) for ln in lines]
    got = dict(pairs)
    assert got["pkgname"] == "hello" and got["pkgver"] == "1.2.3-r4" and got["arch"] == "riscv64"
    assert got["pkgdesc"] == "says hello" and got["origin"] == "hello"
    assert [v for k, v in pairs if k == "depend"] == ["busybox", "so:libc.musl-riscv64.so.1"]
    assert [v for k, v in pairs if k == "provides"] == ["cmd:hello=1.2.3-r4", "cmd:hi=1.2.3-r4"]
    assert got["datahash"] == hashlib.sha256(data).hexdigest()
    assert int(got["size"]) >= 4096 and got["builddate"].isdigit()
    for k in ("url", "packager", "license"):
        assert got[k]


def test_every_file_and_link_carries_its_sha1(blob):
    members, _ = walk(gunzip(apkrepo.streams(blob)[2]))
    records = {}
    for (name, typ, content), nxt in zip(members, members[1:] + [("", b"", b"")]):
        if typ == b"x":
            records[nxt[0]] = pax(content)
    want = {"etc/hello.conf": hashlib.sha1(b"greeting=hi\n").hexdigest(),
            "usr/bin/hello": hashlib.sha1(b"#!/bin/sh\necho hello\n").hexdigest(),
            "usr/bin/hi": hashlib.sha1(b"hello").hexdigest()}
    assert {n: r["APK-TOOLS.checksum.SHA1"] for n, r in records.items()
            if "APK-TOOLS.checksum.SHA1" in r} == want
    with tarfile.open(fileobj=io.BytesIO(gunzip(apkrepo.streams(blob)[2]))) as tar:
        assert tar.getmember("var/empty").mode == 0o700 and tar.getmember("usr/bin/hello").mode == 0o755
        assert tar.getmember("usr/bin/hi").linkname == "hello"


def test_signatures_verify_with_openssl_and_fail_with_another_key(blob, key, tmp_path):
    sig, control, _ = apkrepo.streams(blob)
    signature = walk(gunzip(sig))[0][0][2]
    ok = openssl_verify(key.public, signature, control, tmp_path)
    assert ok.returncode == 0 and "Verified OK" in ok.stdout, ok.stderr
    assert openssl_verify(key.public, signature, control[:-1] + bytes([control[-1] ^ 1]), tmp_path).returncode != 0
    other = apkrepo.keypair(tmp_path / "other")
    assert openssl_verify(other.public, signature, control, tmp_path).returncode != 0
    assert sorted(p.name for p in key.keys_dir.iterdir()) == ["archport-test@localhost-00000001.rsa.pub"]
    assert key.public.read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_the_index_is_signed_and_lists_each_package(blob, key, tmp_path):
    other = apkrepo.apk(OTHER, key)
    data = apkrepo.index([(PKG, blob), (OTHER, other)], key)
    sig, body = apkrepo.streams(data)
    members, end = walk(gunzip(sig))
    assert [m[0] for m in members] == [f".SIGN.RSA.{key.name}.pub"] and end == 0
    assert "Verified OK" in openssl_verify(key.public, members[0][2], body, tmp_path).stdout
    inner, end = walk(gunzip(body))
    assert [m[0] for m in inner] == ["DESCRIPTION", "APKINDEX"] and end >= 2
    assert inner[0][2] == b"v3.20.0-stand-in"
    text = inner[1][2].decode()
    assert text.endswith("\n\n")
    blocks = [dict(ln.split(":", 1) for ln in b.splitlines()) for b in text.strip("\n").split("\n\n")]
    first, second = blocks
    control = apkrepo.streams(blob)[1]
    assert first["C"] == "Q1" + base64.b64encode(hashlib.sha1(control).digest()).decode()
    assert first["C"] == apkrepo.control_checksum(blob)
    assert (first["P"], first["V"], first["A"], first["S"]) == ("hello", "1.2.3-r4", "riscv64", str(len(blob)))
    assert first["D"] == "busybox so:libc.musl-riscv64.so.1" and first["p"] == "cmd:hello=1.2.3-r4 cmd:hi=1.2.3-r4"
    assert first["T"] == "says hello" and first["o"] == "hello" and first["I"].isdigit() and first["t"].isdigit()
    assert {"U", "L", "m", "c"} <= set(first)
    assert (second["P"], second["A"], second["S"]) == ("zoneinfo", "noarch", str(len(other)))
    assert "D" not in second and "p" not in second


def test_write_repo_lays_out_a_mirror(key, tmp_path):
    where = apkrepo.write_repo(tmp_path, "v3.20", "main", "riscv64", [PKG, OTHER], key)
    assert where == tmp_path / "v3.20" / "main" / "riscv64"
    assert sorted(p.name for p in where.iterdir()) == ["APKINDEX.tar.gz", "hello-1.2.3-r4.apk", "zoneinfo-2024a-r0.apk"]
    _, body = apkrepo.streams((where / "APKINDEX.tar.gz").read_bytes())
    text = walk(gunzip(body))[0][1][2].decode()
    assert f"C:{apkrepo.control_checksum((where / 'hello-1.2.3-r4.apk').read_bytes())}\n" in text


def test_debian_versions_become_alpine_ones():
    assert apkrepo.alpine_version("1:1.37.0-4") == "1.37.0-r0"
    assert apkrepo.alpine_version("2025b-4") == "2025b-r0"
    assert apkrepo.alpine_version("20250419") == "20250419-r0"
    with pytest.raises(ValueError):
        apkrepo.alpine_version("git-snapshot")


def test_the_riscv64_packages_hold_riscv64_content():
    busybox, certificates, tzdata = apkrepo.riscv64_packages()
    elf = busybox.files["bin/busybox"][0]
    assert elf[:4] == b"\x7fELF" and int.from_bytes(elf[18:20], "little") == 243      # EM_RISCV
    phoff, phentsize, phnum = (int.from_bytes(elf[32:40], "little"), int.from_bytes(elf[54:56], "little"),
                               int.from_bytes(elf[56:58], "little"))
    types = [int.from_bytes(elf[phoff + i * phentsize:phoff + i * phentsize + 4], "little") for i in range(phnum)]
    assert 3 not in types, "busybox must be static (no PT_INTERP): the repository has no libc"
    assert busybox.arch == "riscv64" and certificates.arch == tzdata.arch == "noarch"
    assert all(p.startswith("usr/share/ca-certificates/mozilla/") for p in certificates.files)
    assert len(certificates.files) > 100
    assert tzdata.files["usr/share/zoneinfo/Europe/Berlin"][0].startswith(b"TZif")
