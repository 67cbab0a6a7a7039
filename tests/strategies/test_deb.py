"""deb: busybox-static for riscv64 through apt's chain of trust, run under qemu-user.

Most tests use a loopback archive (tests/support/debrepo.py) signed with a
throwaway key and holding the real busybox-static .deb: the success path, and
each link of the chain broken in turn (signature, index, .deb, a mirror caught
mid-sync).  One test reads the real archive of the machine's apt sources,
judges its chain independently of archport, and holds archport to the answer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import lzma
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

from archport.binaries.elf import read_elf
from archport.catalog.loader import load
from archport.check import Contract
from archport.fetch.debian import KEYRING, apt_sources
from archport.emulation import qemu_binary
from archport.platform import parse as parse_platform
from archport.strategies import NotPortable
from archport.strategies import deb as deb_module
from archport.strategies.deb import Deb
from tests.support import debrepo

from .helpers import Server, check_built, env, layer_members, unpack, upstream
from standins import shared

RISCV = parse_platform("linux/riscv64")
REF = "rancher/mirrored-library-busybox:1.34.1"
CONFIG = {"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}


def _busybox():
    """The real catalog entry (busybox-static from trixie, /usr/bin/busybox)."""
    return load().component("busybox")


def _first_source():
    return apt_sources()[0]


@pytest.fixture(scope="module")
def busybox_deb() -> debrepo.Package:
    return debrepo.real_deb(_first_source().uri)


@pytest.fixture(scope="module")
def signers(tmp_path_factory):
    home = tmp_path_factory.mktemp("gnupg")
    good = debrepo.Signer.generate(home / "good", "archport test archive")
    other = debrepo.Signer.generate(home / "other", "not the archive")
    yield good, other
    good.close()
    other.close()


@dataclasses.dataclass
class Repo:
    layout: debrepo.Layout
    server: Server
    keyring: str

    def deb(self) -> Deb:
        return Deb(archive_url=self.server.url, keyring=self.keyring)


@contextmanager
def _repo(root: Path, signer, pkg, keyring, mutate=None):
    layout = debrepo.build(root, signer, [pkg])
    if mutate is not None:
        mutate(layout)
    server = Server(root)
    try:
        yield Repo(layout, server, str(keyring))
    finally:
        server.close()


@pytest.fixture(scope="module")
def repo(tmp_path_factory, signers, busybox_deb):
    with _repo(tmp_path_factory.mktemp("debrepo"), signers[0], busybox_deb, signers[0].keyring) as r:
        yield r


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("debcache")


def _env(tmp_path, cache=None):
    e = env(tmp_path)
    return dataclasses.replace(e, cache_dir=cache) if cache is not None else e


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _assert_busybox_image(out, tmp_path, what: str):
    """/bin/busybox, static riscv64, with /bin/sh and the applet links; runs under qemu; check passes."""
    members = layer_members(out.built)
    assert members["bin/busybox"].isfile() and members["bin/busybox"].mode == 0o755, what
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox", what
    assert len([m for m in members.values() if m.issym()]) > 100, what
    cfg = json.loads(out.built.config)
    assert cfg["config"]["Cmd"] == ["sh"] and cfg["architecture"] == "riscv64", what
    root = unpack(out.built, tmp_path / "rootfs")
    info = read_elf((root / "bin" / "busybox").read_bytes())
    assert info.goarch == "riscv64" and info.static, what
    r = subprocess.run([qemu_binary(RISCV), "-L", str(root), str(root / "bin" / "sh"), "-c", "echo ok"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", f"{what}: {r.stderr}"
    # The helper pod runs /bin/sh /script/setup; its script's mkdir/rm resolve through the links.
    pod = Contract(source="helper pod", command=("/bin/sh", "/script/setup"))
    report = check_built(out.built, tmp_path, (Contract(), pod))
    assert report.ok, (what, report.to_dict())
    assert os.path.islink(root / "bin" / "mkdir") and os.path.islink(root / "bin" / "rm"), what


def _assert_nothing_built(e, what: str):
    """No file in the work dir; the cache holds only files named by their own digest."""
    left = [p for p in Path(e.workdir).rglob("*") if p.is_file()]
    assert not left, f"{what}: files left in the work dir: {left}"
    for p in (Path(e.cache_dir) / "debian").rglob("*"):
        if p.is_file():
            assert p.name == _sha256(p.read_bytes()), f"{what}: unverified file in the cache: {p}"


def _stale_index(pkg: debrepo.Package) -> bytes:
    """A valid Packages.xz the signed InRelease does not list (the next sync's, say)."""
    return lzma.compress(pkg.stanza.replace(f"Version: {pkg.field('Version')}",
                                            f"Version: {pkg.field('Version')}+next").encode() + b"\n\n")


# -- the loopback archive ---------------------------------------------------------

def test_busybox_static_riscv64_gives_bin_sh(tmp_path, cache, repo, busybox_deb):
    up = upstream(REF, _busybox(), CONFIG)
    e = _env(tmp_path, cache)
    d = repo.deb().consider(up, RISCV, e)
    assert d.applies, d.reason
    out = repo.deb().build(up, RISCV, e)
    notes = " ".join(out.notes)
    assert "from Debian trixie" in notes and "--list-full run under qemu-riscv64" in notes
    assert f"sha256:{busybox_deb.field('SHA256')}" in notes
    _assert_busybox_image(out, tmp_path, "loopback archive")
    # The index came by hash, and the .deb from the pool path the signed index names.
    assert f"/dists/trixie/main/binary-riscv64/by-hash/SHA256/{repo.layout.index_sha256}" in repo.server.requests
    assert f"/{busybox_deb.field('Filename')}" in repo.server.requests


def test_without_qemu_the_catalog_minimal_list_is_used(tmp_path, cache, repo, monkeypatch):
    monkeypatch.setattr(deb_module, "qemu_binary", lambda _p: None)
    out = repo.deb().build(upstream(REF, _busybox(), {"Cmd": ["sh"]}), RISCV, _env(tmp_path, cache))
    assert "catalog's minimal list (/bin/sh)" in " ".join(out.notes)
    members = layer_members(out.built)
    assert [n for n, m in members.items() if m.issym()] == ["bin/sh"]


def test_tampered_index_is_refused(tmp_path, signers, busybox_deb):
    """The mirror serves a Packages.xz naming another .deb: its hash is not the signed one."""
    evil = bytearray(busybox_deb.data)
    evil[len(evil) // 2] ^= 0xFF
    evil_pkg = debrepo.Package(busybox_deb.stanza.replace(busybox_deb.field("SHA256"), _sha256(evil)), bytes(evil))

    def tamper(layout):
        forged = lzma.compress(evil_pkg.stanza.encode() + b"\n\n")
        layout.packages_xz.write_bytes(forged)
        layout.by_hash.write_bytes(forged)
        layout.pool(busybox_deb).write_bytes(evil)

    with _repo(tmp_path / "archive", signers[0], busybox_deb, signers[0].keyring, tamper) as r:
        e = _env(tmp_path)
        with pytest.raises(NotPortable, match="digest mismatch") as exc:
            r.deb().build(upstream(REF, _busybox(), CONFIG), RISCV, e)
        assert f"expected sha256:{r.layout.index_sha256}" in str(exc.value)
        assert not [p for p in r.server.requests if p.startswith("/pool/")], r.server.requests
    _assert_nothing_built(e, "tampered index")


def test_deb_differing_from_its_index_entry_is_refused(tmp_path, signers, busybox_deb):
    def swap(layout):
        data = bytearray(busybox_deb.data)
        data[-100] ^= 0x01                       # same size, one bit off
        layout.pool(busybox_deb).write_bytes(bytes(data))

    with _repo(tmp_path / "archive", signers[0], busybox_deb, signers[0].keyring, swap) as r:
        e = _env(tmp_path)
        with pytest.raises(NotPortable, match="digest mismatch") as exc:
            r.deb().build(upstream(REF, _busybox(), CONFIG), RISCV, e)
        assert f"expected sha256:{busybox_deb.field('SHA256')}" in str(exc.value)
        assert f"/{busybox_deb.field('Filename')}" in r.server.requests
    _assert_nothing_built(e, "altered .deb")


@pytest.mark.parametrize("keyring", ["other key", "empty file"])
def test_wrong_signing_key_is_refused(tmp_path, signers, busybox_deb, keyring):
    """InRelease signed by a key the keyring does not hold: nothing past it is fetched."""
    good, other = signers
    if keyring == "empty file":
        ring = tmp_path / "empty.gpg"
        ring.write_bytes(b"")
        signer = good
    else:
        ring, signer = good.keyring, other
    with _repo(tmp_path / "archive", signer, busybox_deb, ring) as r:
        e = _env(tmp_path)
        with pytest.raises(NotPortable, match="signature does not verify"):
            r.deb().build(upstream(REF, _busybox(), CONFIG), RISCV, e)
        assert r.server.requests == ["/dists/trixie/InRelease"]
    _assert_nothing_built(e, f"InRelease checked against {keyring}")


MID_SYNC = {
    # state of the mirror: (how to set it up, whether archport must build)
    "canonical name already the next index, by-hash intact": ("stale canonical", True),
    "by-hash file missing, canonical name intact": ("no by-hash", True),
    "by-hash file missing, canonical name already the next index": ("no by-hash + stale canonical", False),
}


@pytest.mark.parametrize("state", list(MID_SYNC))
def test_mirror_mid_sync(tmp_path, signers, busybox_deb, state):
    """apt's rule (wiki.debian.org/DebianRepository/Format, Acquire-By-Hash):
    take the index by hash, fall back to its canonical name, and accept only
    the signed digest either way.  The last state is the one the real archive
    showed when this test was written (13.8 InRelease, 13.7 Packages.xz)."""
    how, builds = MID_SYNC[state]
    stale = _stale_index(busybox_deb)

    def sync(layout):
        if "no by-hash" in how:
            layout.by_hash.unlink()
        if "stale canonical" in how:
            layout.packages_xz.write_bytes(stale)

    with _repo(tmp_path / "archive", signers[0], busybox_deb, signers[0].keyring, sync) as r:
        e = _env(tmp_path)
        if builds:
            out = r.deb().build(upstream(REF, _busybox(), CONFIG), RISCV, e)
            assert layer_members(out.built)["bin/sh"].issym(), state
            return
        with pytest.raises(NotPortable, match="digest mismatch") as exc:
            r.deb().build(upstream(REF, _busybox(), CONFIG), RISCV, e)
        assert f"expected sha256:{r.layout.index_sha256}, got sha256:{_sha256(stale)}" in str(exc.value)
    _assert_nothing_built(e, state)


def test_no_package_for_the_arch(tmp_path):
    up = upstream(REF, "busybox", {"Cmd": ["sh"]})
    d = Deb().consider(up, parse_platform("linux/loong64"), env(tmp_path))
    assert not d.applies and "no Debian package" in d.reason


# -- the real archive ---------------------------------------------------------------

def test_real_archive_builds_if_its_chain_holds_else_refuses(tmp_path):
    """The machine's first apt source, as it is today.  The test judges the
    chain itself (gpgv, hashlib: tests/support/debrepo.real_chain) before and
    after archport runs, retrying if the archive changed in between; then
    archport must build when the chain holds and refuse, naming the broken
    link, when it does not."""
    src = _first_source()
    keyring = src.signed_by or KEYRING
    pkg = _busybox().deb_package("1.34.1", "riscv64")
    up = upstream(REF, _busybox(), CONFIG)
    for attempt in range(3):
        work = tmp_path / f"attempt{attempt}"
        e = _env(work)
        before = debrepo.real_chain(src.uri, keyring, pkg.package, pkg.suite)
        try:
            out, err = Deb().build(up, RISCV, e), None
        except NotPortable as x:
            out, err = None, x
        if debrepo.real_chain(src.uri, keyring, pkg.package, pkg.suite) == before:
            break
    else:
        pytest.fail("the real archive changed while each of three attempts ran")

    branch = f"branch taken: real archive {before.verdict} ({before.detail})"
    if before.consistent:
        assert err is None, f"{branch}: archport must build, but refused: {err}"
        assert f"sha256:{before.expected}" in " ".join(out.notes), branch
        _assert_busybox_image(out, work, branch)
        return
    assert out is None, f"{branch}: archport must refuse, but built: {out.reason}"
    message = str(err)
    if before.verdict == "bad signature":
        assert "signature does not verify" in message, f"{branch}: {message}"
    elif before.verdict in ("index mismatch", "deb mismatch"):
        assert "digest mismatch" in message and f"expected sha256:{before.expected}" in message, \
            f"{branch}: {message}"
        assert f"got sha256:{before.got}" in message, f"{branch}: {message}"
    _assert_nothing_built(e, branch)


@pytest.mark.parametrize("state, verdict", [
    ("intact", "consistent"),
    ("stale canonical", "consistent"),
    ("no by-hash + stale canonical", "index mismatch"),
    ("altered .deb", "deb mismatch"),
    ("other key", "bad signature"),
])
def test_the_real_archive_judge_on_loopback_states(tmp_path, signers, busybox_deb, state, verdict):
    """debrepo.real_chain, which decides the branch of the test above, reads
    each state of a loopback archive the way that test relies on."""
    good, other = signers

    def setup(layout):
        if "no by-hash" in state:
            layout.by_hash.unlink()
        if "stale canonical" in state:
            layout.packages_xz.write_bytes(_stale_index(busybox_deb))
        if state == "altered .deb":
            layout.pool(busybox_deb).write_bytes(busybox_deb.data[:-1] + b"\0")

    signer = other if state == "other key" else good
    with _repo(tmp_path / "archive", signer, busybox_deb, good.keyring, setup) as r:
        chain = debrepo.real_chain(r.server.url, r.keyring)
    assert chain.verdict == verdict, chain


def test_port_busybox_from_the_cli(repo, registry_plain, tmp_path):
    """The whole path as a user runs it: port with the deb strategy from a
    signed archive named on the command line, check against the real k3s
    manifests (the local-path helper pod's /bin/sh /script/setup), smoke, and
    the riscv64 manifest appended to the upstream index."""
    import json
    import os

    from tests.support.port import archport, push_image, skopeo_raw, upstream_digests
    reg = registry_plain
    push_image(tmp_path, "rancher/mirrored-library-busybox:1.34.1", reg,
               {"amd64": {"bin/busybox": (b"\x7fELF stand-in", 0o755)}, "arm64": {"bin/busybox": (b"\x7fELF", 0o755)}},
               {"Cmd": ["sh"]})
    cp = archport("port", "rancher/mirrored-library-busybox:1.34.1", "--arch", "riscv64", "--strategy", "deb",
                  "--debian-archive", repo.server.url, "--debian-keyring", repo.keyring,
                  "--to", f"{reg.host}/ported-deb", "--mirror", f"docker.io={reg.host}", "--mirror-only",
                  "--manifests", str(shared.MANIFESTS),
                  "--cache-dir", str(tmp_path / "cache"), "--json", env=dict(os.environ))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert cp.stdout.lstrip().startswith("{"), (cp.stdout, cp.stderr)
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported" and r["strategy"] == "deb", r
    assert r["check"].startswith("ok (2 contracts)"), r   # image Cmd + the helper pod's command
    assert r["smoke"].startswith("ok"), r
    dest = skopeo_raw(f"{reg.host}/ported-deb/rancher/mirrored-library-busybox:1.34.1")
    up = upstream_digests(reg, "rancher/mirrored-library-busybox:1.34.1")
    got = {m["platform"]["architecture"]: m["digest"] for m in dest["manifests"]}
    assert got == {"amd64": up["linux/amd64"], "arm64": up["linux/arm64"], "riscv64": r["platformDigest"]}


def test_another_suite_when_the_catalogs_is_mid_sync(tmp_path, signers, busybox_deb, registry_plain):
    """The catalog names trixie; this archive's trixie is caught mid-sync (its
    signed index is gone), forky is whole.  The port refuses and says what to
    try; ``--debian-suite forky`` then builds from the verified forky chain."""
    import os

    from tests.support.port import archport, push_image
    good = signers[0]
    root = tmp_path / "archive"
    debrepo.build(root, good, [busybox_deb], suite="forky")
    broken = debrepo.build(root, good, [busybox_deb], suite="trixie")
    broken.by_hash.unlink()
    broken.packages_xz.write_bytes(_stale_index(busybox_deb))
    reg = registry_plain
    push_image(tmp_path, "rancher/mirrored-library-busybox:1.34.1", reg,
               {"amd64": {"bin/busybox": (b"\x7fELF stand-in", 0o755)}, "arm64": {"bin/busybox": (b"\x7fELF", 0o755)}},
               {"Cmd": ["sh"]})
    server = Server(root)
    try:
        argv = ["port", "rancher/mirrored-library-busybox:1.34.1", "--strategy", "deb",
                "--debian-archive", server.url, "--debian-keyring", str(good.keyring),
                "--to", f"{reg.host}/ported-suite", "--mirror", f"docker.io={reg.host}", "--mirror-only",
                "--cache-dir", str(tmp_path / "cache"), "--json"]
        refused = archport(*argv, env=dict(os.environ))
        assert refused.returncode == 1, refused.stdout + refused.stderr
        # Intermittent under load, cause not yet found: a failure must show both streams.
        assert refused.stdout.lstrip().startswith("{"), (refused.stdout, refused.stderr)
        (r,) = json.loads(refused.stdout)["images"]
        assert r["status"] == "failed" and "trixie/riscv64" in r["reason"] and "digest mismatch" in r["reason"], r
        assert "--debian-suite" in r["nextStep"], r
        cp = archport(*argv, "--debian-suite", "forky", env=dict(os.environ))
    finally:
        server.close()
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert cp.stdout.lstrip().startswith("{"), (cp.stdout, cp.stderr)
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported" and r["strategy"] == "deb", r
    assert any(n.startswith(f"busybox-static {busybox_deb.field('Version')} from Debian forky (sha256:")
               for n in r["notes"]), r


def test_the_image_does_not_name_the_mirror(tmp_path, repo, busybox_deb):
    """The same package from two mirrors of the archive gives the same image."""
    other = Server(repo.layout.root)
    try:
        up = upstream(REF, _busybox(), CONFIG)
        a = repo.deb().build(up, RISCV, _env(tmp_path / "a"))
        b = Deb(archive_url=other.url, keyring=repo.keyring).build(up, RISCV, _env(tmp_path / "b"))
    finally:
        other.close()
    assert a.built.manifest.digest == b.built.manifest.digest
    assert other.url in " ".join(b.notes)                    # the run says where it fetched from
    changes = a.built.manifest.annotations["io.archport.changes"]
    assert busybox_deb.field("Filename") in changes and busybox_deb.field("SHA256") in changes
