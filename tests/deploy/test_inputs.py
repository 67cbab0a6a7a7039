"""deploy's local inputs: the registry reference and the airgap tarball."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest
import zstandard

from archport.deploy.inputs import RegistrySpec, check_airgap, parse_registry
from archport.errors import BadInput


@pytest.mark.parametrize("text, want", [
    ("10.0.0.5:5000", RegistrySpec("10.0.0.5:5000")),
    ("reg.lab.internal/riscv", RegistrySpec("reg.lab.internal", "riscv")),
    ("http://127.0.0.1:5000/ported/riscv64/", RegistrySpec("127.0.0.1:5000", "ported/riscv64", "http")),
    ("https://[fd00::5]:5000", RegistrySpec("[fd00::5]:5000", "", "https")),
    ("localhost:5000", RegistrySpec("localhost:5000")),
])
def test_registry(text, want):
    assert parse_registry(text) == want


@pytest.mark.parametrize("text, words", [
    ("", "expected HOST[:PORT][/PREFIX]"),
    ("ftp://10.0.0.5", "scheme 'ftp' is not http or https"),
    ("oci:/tmp/layout", "'oci' is not a registry scheme"),
    ("docker-archive:x.tar", "is not a registry scheme"),
    ("10.0.0.5:99999", "not between 1 and 65535"),
    ("myregistry", "does not name a registry host"),
    ("10.0.0.5:5000/Riscv", "bad repository prefix"),
])
def test_bad_registry(text, words):
    with pytest.raises(BadInput) as e:
        parse_registry(text)
    assert words in str(e.value)


def _tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ti = tarfile.TarInfo("index.json")
        ti.size = 2
        t.addfile(ti, io.BytesIO(b"{}"))
    return buf.getvalue()


@pytest.mark.parametrize("name, pack", [
    ("images.tar", lambda b: b),
    ("images.tar.gz", gzip.compress),
    ("images.tgz", gzip.compress),
    ("images.tar.zst", lambda b: zstandard.ZstdCompressor().compress(b)),
])
def test_airgap_archives(tmp_path, name, pack):
    p = tmp_path / name
    p.write_bytes(pack(_tar()))
    a = check_airgap(str(p))
    assert a.name == name and a.size == p.stat().st_size and len(a.sha256) == 64


@pytest.mark.parametrize("name, data, words", [
    ("images.tar", b"not a tar" * 100, "not a tar archive"),
    ("images.tar.gz", gzip.compress(b"not a tar" * 100), "not a tar archive"),
    ("images.tar.gz", b"\x1f\x8bbroken", "not an archive"),
    ("images.tar.zst", b"\x28\xb5\x2f\xfdbroken", "not an archive"),
    ("images.zip", b"PK\x03\x04", "k3s imports only"),
])
def test_not_archives(tmp_path, name, data, words):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(BadInput) as e:
        check_airgap(str(p))
    assert words in str(e.value)
