"""The Debian archive client's pure parts: apt sources, Release, Packages, .deb (ar + data.tar)."""

from __future__ import annotations

import io
import lzma
import tarfile
from pathlib import Path

import pytest
import zstandard

from archport.fetch import debian
from archport.errors import BadInput


def test_sources_one_line_and_deb822():
    text = "# comment\ndeb-src http://src.test/debian trixie main\n" \
           "deb [arch=amd64 signed-by=/k.gpg] http://a.test/debian/ trixie main\n"
    assert debian.parse_sources_list(text) == [debian.AptSource("http://a.test/debian", ("trixie",), "/k.gpg")]
    d822 = "Types: deb-src\nURIs: http://x.test\nSuites: a\n\nTypes: deb\n# note\nURIs: http://b.test/d\n" \
           "Suites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/k.gpg\n"
    assert debian.parse_deb822(d822) == [
        debian.AptSource("http://b.test/d", ("bookworm", "bookworm-updates"), "/usr/share/keyrings/k.gpg")]


def test_apt_sources_reads_files(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.sources").write_text("Types: deb\nURIs: http://c.test/debian\nSuites: trixie\n")
    found = debian.apt_sources(str(tmp_path / "missing.list"), str(tmp_path / "d"))
    assert [s.uri for s in found] == ["http://c.test/debian"]


def test_release_and_packages():
    rel = debian.parse_release("Origin: Debian\nCodename: trixie\nSHA256:\n"
                               f" {'a' * 64}  12 main/binary-riscv64/Packages.xz\n"
                               f" {'b' * 64}  7 main/binary-riscv64/Release\n")
    assert rel.fields["Codename"] == "trixie"
    assert rel.sha256["main/binary-riscv64/Packages.xz"] == ("a" * 64, 12)
    pk = b"Package: busybox\nVersion: 1\n\nPackage: busybox-static\nVersion: 1:1.37\nFilename: pool/b.deb\n" \
         b"Description: x\n more\n\nPackage: c\n"
    st = debian.find_package(pk, "busybox-static")
    assert st["Filename"] == "pool/b.deb" and st["Description"] == "x\nmore"
    assert debian.find_package(pk, "busybox")["Version"] == "1"
    assert debian.find_package(pk, "nope") is None


def _deb(tmp_path: Path, data_name: str, files: dict) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, value in files.items():
            ti = tarfile.TarInfo(name)
            if isinstance(value, str):
                ti.type, ti.linkname = tarfile.SYMTYPE, value
                tar.addfile(ti)
            elif value is None:
                ti.type = tarfile.DIRTYPE
                tar.addfile(ti)
            else:
                ti.size = len(value)
                tar.addfile(ti, io.BytesIO(value))
    tar_bytes = raw.getvalue()
    data = {"data.tar.xz": lambda b: lzma.compress(b), "data.tar.zst": lambda b: zstandard.compress(b),
            "data.tar.gz": lambda b: __import__("gzip").compress(b), "data.tar": lambda b: b}[data_name](tar_bytes)
    out = io.BytesIO()
    out.write(b"!<arch>\n")
    for name, body in (("debian-binary", b"2.0\n"), ("control.tar.xz", lzma.compress(b"")), (data_name, data)):
        out.write(f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(body):<10}`\n".encode())
        out.write(body + (b"\n" if len(body) % 2 else b""))
    p = tmp_path / f"pkg-{data_name}.deb"
    p.write_bytes(out.getvalue())
    return p


@pytest.mark.parametrize("data_name", ["data.tar.xz", "data.tar.zst", "data.tar.gz", "data.tar"])
def test_extract_from_deb_merged_usr_and_symlinks(tmp_path, data_name):
    deb = _deb(tmp_path, data_name, {"./": None, "./usr/": None, "./usr/bin/": None,
                                     "./usr/bin/busybox": b"BB", "./usr/bin/bb": "busybox"})
    assert debian.extract_file(deb, "/bin/busybox", tmp_path / "out") == "/usr/bin/busybox"
    assert (tmp_path / "out").read_bytes() == b"BB"
    assert debian.extract_file(deb, "/usr/bin/bb", tmp_path / "out2") == "/usr/bin/busybox"
    with pytest.raises(debian.DebianError, match="no regular file"):
        debian.extract_file(deb, "/bin/nothing", tmp_path / "out3")


def test_not_a_deb(tmp_path):
    p = tmp_path / "x.deb"
    p.write_bytes(b"PK\x03\x04 not ar")
    with pytest.raises(BadInput, match="not a .deb"):
        debian.list_deb(p)


def test_missing_keyring_is_named(tmp_path):
    with pytest.raises(debian.DebianError, match="debian-archive-keyring"):
        debian.verify_signed(b"x", str(tmp_path / "nokeyring.gpg"))


def test_verify_signed_returns_only_the_signed_text(tmp_path):
    """gpgv's --output: text placed around a valid clearsigned block is not returned."""
    from tests.support.debrepo import Signer
    good = Signer.generate(tmp_path / "good")
    other = Signer.generate(tmp_path / "other", "not the archive")
    try:
        signed = good.clearsign(b"Codename: trixie\n")
        assert debian.verify_signed(signed, str(good.keyring)) == b"Codename: trixie\n"
        wrapped = b"Codename: forged\n\n" + signed + b"\nCodename: forged\n"
        assert b"forged" not in debian.verify_signed(wrapped, str(good.keyring))
        with pytest.raises(debian.DebianError, match="signature does not verify"):
            debian.verify_signed(signed, str(other.keyring))
    finally:
        good.close()
        other.close()
