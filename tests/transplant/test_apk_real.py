"""archport's Alpine reader against real Alpine bytes.

Alpine's repositories are not reachable here, but real Alpine files are:
the Go module github.com/chainguard-dev/go-apk, which the module proxy
serves, keeps in its testdata an Alpine v3.17 aarch64 ``APKINDEX.tar.gz``
signed with Alpine's key ...-616ae350, a v3.16 x86_64 one signed with
...-6165ee59, and alpine-baselayout-3.2.0-r23 for aarch64, signed with
...-616ae350.  Its repo_test.go holds those two public keys.  The module is
downloaded by ``go mod download`` into the module cache (the test's input,
not copied into this repository), and the keys are read out of that Go file
into a keys directory, as /etc/apk/keys holds them.

What this proves: signatures of Alpine's own making verify with Alpine's
own keys, and a flipped byte does not; a real index parses and resolves
(every dependency of every chosen package satisfied); a real package's
control and data members check and unpack with their file SHA-1s; a file
that is not the one the index pins is refused, also when served over HTTP.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import httpx
import pytest

from archport.fetch.alpine import AlpineError, Repository, data_member, verify_package, verify_signed
from archport.transplant import apkfiles
from archport.fetch.apkformat import Entry, gzip_members, parse_index, parse_pkginfo, q1
from archport.transplant.apk import closure, dep_name, installed_db
from archport.transplant.pkgdb import parse_apk
from tests.support.port import go_binary
from tests.strategies.helpers import Server

MODULE = "github.com/chainguard-dev/go-apk@v0.0.0-20240605175618-f3471089c263"
KEY_317 = "alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub"     # aarch64
KEY_316 = "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"     # x86_64


@pytest.fixture(scope="module")
def real(go_env, tmp_path_factory):
    cp = subprocess.run([go_binary(), "mod", "download", "-json", MODULE], capture_output=True, text=True,
                        env={**go_env, "GOFLAGS": "-mod=mod"}, timeout=600)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    root = Path(json.loads(cp.stdout)["Dir"]) / "pkg" / "apk"
    keys = tmp_path_factory.mktemp("apk-keys")
    src = (root / "repo_test.go").read_text()
    for name, pem in re.findall(r'"(alpine-devel@[^"]+\.rsa\.pub)": `\s*(-----BEGIN PUBLIC KEY-----.*?'
                                r'-----END PUBLIC KEY-----)', src, re.S):
        (keys / name).write_text(pem + "\n")
    assert {p.name for p in keys.iterdir()} >= {KEY_317, KEY_316}
    return root / "testdata", keys


def test_real_indexes_verify_with_alpines_keys_and_a_flipped_byte_does_not(real):
    data, keys = real
    for d, key in (("alpine-317", KEY_317), ("alpine-316", KEY_316)):
        blob = (data / d / "APKINDEX.tar.gz").read_bytes()
        off, length, signer = verify_signed(blob, str(keys), d)
        assert signer == key and off + length == len(blob)
        bad = bytearray(blob)
        bad[off + length // 2] ^= 0x01
        with pytest.raises(AlpineError):
            verify_signed(bytes(bad), str(keys), d)
    only_other = keys.parent / "only-316"
    only_other.mkdir(exist_ok=True)
    shutil.copy(keys / KEY_316, only_other / KEY_316)
    with pytest.raises(AlpineError, match=f"{re.escape(KEY_317)} \\(not in"):
        verify_signed((data / "alpine-317" / "APKINDEX.tar.gz").read_bytes(), str(only_other), "3.17")
    # A key of the same name with other content (an attacker's) does not verify.
    forged = keys.parent / "forged"
    forged.mkdir(exist_ok=True)
    shutil.copy(keys / KEY_316, forged / KEY_317)
    with pytest.raises(AlpineError, match="does not verify"):
        verify_signed((data / "alpine-317" / "APKINDEX.tar.gz").read_bytes(), str(forged), "3.17")


def _index(data: Path, d: str) -> list[Entry]:
    with tarfile.open(data / d / "APKINDEX.tar.gz") as t:
        return parse_index(t.extractfile("APKINDEX").read().decode())


def test_a_real_index_parses_and_resolves_completely(real):
    data, _ = real
    text = tarfile.open(data / "alpine-317" / "APKINDEX.tar.gz").extractfile("APKINDEX").read().decode()
    entries = _index(data, "alpine-317")
    assert len(entries) == len(re.findall(r"^P:", text, re.M)) > 1000
    assert {e.arch for e in entries} <= {"aarch64", "noarch"}
    wanted = ["iptables", "ip6tables", "bash", "jq", "git", "ca-certificates", "tzdata"]
    res = closure(entries, wanted)
    assert res.missing == ()
    chosen = {e.name: e for e in res.packages}
    provided = {dep_name(p) for e in res.packages for p in e.provides} | set(chosen)
    for e in res.packages:                          # every dependency of every package is in the set
        for d in e.depends:
            assert d.startswith("!") or dep_name(d) in provided, (e.name, d)
    order = [e.name for e in res.packages]
    assert order.index("musl") < order.index("iptables")        # dependencies first
    # /bin/sh, which bash's scripts need, is provided by a package, not a file.
    assert any("/bin/sh" in e.provides for e in res.packages)
    assert len(order) == len(set(order))


def test_a_real_package_checks_and_unpacks_with_its_file_checksums(real, tmp_path):
    data, keys = real
    apk = data / "alpine-316" / "alpine-baselayout-3.2.0-r23.apk"
    blob = apk.read_bytes()
    _, _, signer = verify_signed(blob, str(keys), apk.name)
    assert signer == KEY_317
    members = gzip_members(io.BytesIO(blob))
    assert len(members) == 3 and sum(members[-1]) == len(blob)
    control = blob[members[1][0]:sum(members[1])]
    info = parse_pkginfo(tarfile.open(fileobj=io.BytesIO(control)).extractfile(".PKGINFO").read().decode())
    assert info["pkgname"] == ["alpine-baselayout"] and info["arch"] == ["aarch64"]
    entry = Entry("alpine-baselayout", "3.2.0-r23", "aarch64", q1(control), len(blob))
    verify_package(apk, entry)
    u = apkfiles.unpack(apk, data_member(apk), tmp_path / "spool")
    files = {f.path: f for f in u.files}
    assert files["etc/crontabs/root"].mode == 0o600 and files["etc/crontabs/root"].kind == "file"
    assert files["dev"].kind == "dir" and u.refused == ()
    assert len(u.sha1) == sum(1 for f in u.files if f.kind == "file") > 10
    # The database apk would write for it reads back with the same files.
    db = parse_apk(installed_db([(entry, [(f.path, f.kind, dict(u.sha1).get(f.path, "")) for f in u.files])])
                   .decode())
    assert set(db.packages[0].files) == {f.path for f in u.files if f.kind != "dir"}

    wrong = Entry("alpine-baselayout", "3.2.0-r23", "aarch64", "Q1" + "A" * 27 + "=", len(blob))
    with pytest.raises(AlpineError, match="checksum mismatch"):
        verify_package(apk, wrong)


def test_a_file_the_index_does_not_pin_is_refused_over_http(real, tmp_path):
    """The v3.17 index pins alpine-baselayout-3.4.0-r0's control member; the
    testdata's file of that name holds 3.2.0-r23's bytes (its README says
    so), so the download must be refused and nothing cached."""
    data, keys = real
    mirror = tmp_path / "mirror"
    where = mirror / "v3.17" / "main" / "aarch64"
    where.mkdir(parents=True)
    for f in ("APKINDEX.tar.gz", "alpine-baselayout-3.4.0-r0.apk"):
        shutil.copy(data / "alpine-317" / f, where / f)
    srv = Server(mirror)
    try:
        with httpx.Client() as http:
            repo = Repository(srv.url, str(keys), tmp_path / "cache", http)
            entries, signer = repo.index("v3.17", "main", "aarch64")
            assert signer == KEY_317
            assert repo.index("v3.17", "community", "aarch64") is None          # 404: no such repository
            entry = next(e for e in entries if e.name == "alpine-baselayout")
            assert entry.version == "3.4.0-r0" and entry.repo == "main"
            with pytest.raises(AlpineError, match="checksum mismatch"):
                repo.package("v3.17", "aarch64", entry)
    finally:
        srv.close()
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))
