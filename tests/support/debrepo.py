"""A loopback Debian archive, signed with a throwaway key, holding a real .deb.

archport's ``deb`` strategy follows apt's chain of trust
(wiki.debian.org/DebianRepository/Format): a clearsigned
``dists/<suite>/InRelease`` lists the SHA-256 of
``<component>/binary-<arch>/Packages.xz`` (also served under
``by-hash/SHA256/<hex>`` when ``Acquire-By-Hash: yes``), whose stanza gives the
``Filename`` and ``SHA256`` of the ``.deb`` under ``pool/``.

:func:`build` writes such an archive into a directory (tests serve it with
``tests.strategies.helpers.Server`` on 127.0.0.1) and :class:`Signer` makes the
key: ``gpg --quick-gen-key`` in a private home, exported in binary form with
``gpg --export`` because that is what ``gpgv --keyring FILE`` reads (the same
format as /usr/share/keyrings/debian-archive-keyring.gpg; an armored file is
not accepted by gpgv).  A test can then break one link (the index, the .deb,
the signature) and watch archport refuse.

The package itself is real: :func:`real_deb` takes busybox-static for riscv64
from the machine's first apt source, whatever its current ``Packages.xz``
names, and checks the .deb's SHA-256 against that index.  That is only a
sanity check on fixture data: the authenticity of those bytes is not what the
tests are about; the chain under test is the loopback one, signed here.  The
.deb is cached in ``~/.cache/archport-tests/debian/`` by its SHA-256, with a
small JSON note of its stanza, so later runs need no network at all; delete
that directory to take a newer package.

:func:`real_chain` is the other use: an independent look (httpx, gpgv,
hashlib, nothing from archport) at whether the real archive's chain holds
right now, so a test against it can say what archport must do either way.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import httpx

CACHE = Path.home() / ".cache" / "archport-tests" / "debian"
TIMEOUT = httpx.Timeout(120.0, connect=15.0)


# -- the signing key -------------------------------------------------------------

@dataclass(frozen=True)
class Signer:
    home: Path            # a private GNUPGHOME
    fingerprint: str
    keyring: Path         # the public key, binary (gpg --export): gpgv --keyring reads this

    @classmethod
    def generate(cls, home: Path, name: str = "archport test archive") -> "Signer":
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        uid = f"{name} <archive@example.invalid>"
        _gpg(home, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
        listing = _gpg(home, "--with-colons", "--list-secret-keys", uid).stdout
        fpr = next(ln.split(":")[9] for ln in listing.splitlines() if ln.startswith("fpr:"))
        keyring = home / "archive-keyring.gpg"
        keyring.write_bytes(_gpg(home, "--export", fpr, text=False).stdout)
        return cls(home, fpr, keyring)

    def clearsign(self, text: bytes) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            src, out = Path(tmp) / "Release", Path(tmp) / "InRelease"
            src.write_bytes(text)
            _gpg(self.home, "--pinentry-mode", "loopback", "--passphrase", "", "--local-user", self.fingerprint,
                 "--digest-algo", "SHA512", "--output", str(out), "--clearsign", str(src))
            return out.read_bytes()

    def close(self) -> None:
        """Stop the gpg-agent this home started (only that one: it is keyed by --homedir)."""
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "all"], capture_output=True, timeout=30)


def _gpg(home: Path, *args: str, text: bool = True) -> subprocess.CompletedProcess:
    if shutil.which("gpg") is None:
        raise RuntimeError("gpg is missing: apt-get install gnupg")
    r = subprocess.run(["gpg", "--batch", "--yes", "--no-tty", "--homedir", str(home), *args],
                       capture_output=True, text=text, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"gpg {' '.join(args)} failed: {r.stderr}")
    return r


# -- the archive -----------------------------------------------------------------

@dataclass(frozen=True)
class Package:
    stanza: str           # the Packages paragraph, as the archive prints it (no trailing blank line)
    data: bytes           # the .deb

    def field(self, name: str) -> str:
        return fields(self.stanza)[name]


@dataclass(frozen=True)
class Layout:
    """Where :func:`build` put things, for tests that break one of them."""
    root: Path
    suite: str
    inrelease: Path
    packages_xz: Path     # the canonical name
    by_hash: Path | None  # by-hash/SHA256/<hex> of the same bytes
    index_sha256: str     # what InRelease lists for Packages.xz

    def pool(self, pkg: Package) -> Path:
        return self.root / pkg.field("Filename")


def build(root: Path, signer: Signer, packages: list[Package], *, suite: str = "trixie", arch: str = "riscv64",
          component: str = "main", by_hash: bool = True) -> Layout:
    """Write pool/, Packages(.xz) and a signed InRelease for ``packages`` under ``root``."""
    for pkg in packages:
        dest = root / pkg.field("Filename")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(pkg.data)
    plain = "".join(p.stanza.rstrip("\n") + "\n\n" for p in packages).encode()
    xz = lzma.compress(plain, preset=6)
    index_dir = root / "dists" / suite / component / f"binary-{arch}"
    index_dir.mkdir(parents=True, exist_ok=True)
    (index_dir / "Packages").write_bytes(plain)
    (index_dir / "Packages.xz").write_bytes(xz)
    sums = {f"{component}/binary-{arch}/Packages": plain, f"{component}/binary-{arch}/Packages.xz": xz}
    hashed = None
    if by_hash:
        (index_dir / "by-hash" / "SHA256").mkdir(parents=True, exist_ok=True)
        for data in sums.values():
            (index_dir / "by-hash" / "SHA256" / _sha256(data)).write_bytes(data)
        hashed = index_dir / "by-hash" / "SHA256" / _sha256(xz)
    release = ["Origin: archport-tests", "Label: archport-tests", "Suite: testing-loopback", f"Codename: {suite}",
               f"Date: {formatdate(usegmt=True)}", f"Architectures: {arch}", f"Components: {component}",
               "Description: loopback archive for archport's tests"]
    if by_hash:
        release.append("Acquire-By-Hash: yes")
    release.append("SHA256:")
    release += [f" {_sha256(data)} {len(data):>16} {name}" for name, data in sums.items()]
    inrelease = root / "dists" / suite / "InRelease"
    inrelease.write_bytes(signer.clearsign(("\n".join(release) + "\n").encode()))
    return Layout(root, suite, inrelease, index_dir / "Packages.xz", hashed, _sha256(xz))


def fields(stanza: str) -> dict[str, str]:
    """Single-line fields of one Packages paragraph (continuations are skipped)."""
    out = {}
    for line in stanza.splitlines():
        if line and line[0] not in " \t" and ":" in line:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def find_stanza(packages: bytes, name: str) -> str | None:
    for para in packages.decode("utf-8", "replace").split("\n\n"):
        if fields(para).get("Package") == name:
            return para.strip("\n")
    return None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the real package, as fixture data ------------------------------------------

def real_deb(archive_url: str, package: str = "busybox-static", suite: str = "trixie", arch: str = "riscv64",
             cache: Path = CACHE) -> Package:
    """``package`` for ``arch`` from the archive's current index (cached; see the module docstring)."""
    note = cache / f"{package}_{suite}_{arch}.json"
    if note.is_file():
        stanza = json.loads(note.read_text())["stanza"]
        blob = cache / "sha256" / fields(stanza)["SHA256"]
        if blob.is_file() and _sha256(blob.read_bytes()) == fields(stanza)["SHA256"]:
            return Package(stanza, blob.read_bytes())
    with httpx.Client(timeout=TIMEOUT, follow_redirects=True) as http:
        index = lzma.decompress(_get(http, f"{archive_url}/dists/{suite}/main/binary-{arch}/Packages.xz"))
        stanza = find_stanza(index, package)
        if stanza is None:
            raise RuntimeError(f"{archive_url} {suite}/{arch} has no {package}")
        data = _get(http, f"{archive_url}/{fields(stanza)['Filename']}")
    if _sha256(data) != fields(stanza)["SHA256"]:
        raise RuntimeError(f"{fields(stanza)['Filename']}: sha256 {_sha256(data)}, the index says "
                           f"{fields(stanza)['SHA256']}; run again later")
    _write(cache / "sha256" / fields(stanza)["SHA256"], data)
    _write(note, json.dumps({"stanza": stanza}, indent=1).encode())
    return Package(stanza, data)


def _get(http: httpx.Client, url: str) -> bytes:
    r = http.get(url)
    r.raise_for_status()
    return r.content


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


# -- the real archive's chain, judged independently ---------------------------------

@dataclass(frozen=True)
class Chain:
    """What a careful client finds in the real archive right now."""
    verdict: str          # "consistent", "bad signature", "index mismatch", "deb mismatch", "missing"
    detail: str = ""
    expected: str = ""    # the digest the signed chain asks for (hex)
    got: str = ""         # the digest of what the archive served (hex)

    @property
    def consistent(self) -> bool:
        return self.verdict == "consistent"


def real_chain(archive_url: str, keyring: str, package: str = "busybox-static", suite: str = "trixie",
               arch: str = "riscv64", component: str = "main") -> Chain:
    """InRelease through gpgv, then Packages.xz the way apt takes it (by hash
    when offered, the canonical name if that answers 404), then the .deb."""
    with httpx.Client(timeout=TIMEOUT, follow_redirects=True) as http:
        with tempfile.TemporaryDirectory() as tmp:
            src, out = Path(tmp) / "InRelease", Path(tmp) / "signed"
            src.write_bytes(_get(http, f"{archive_url}/dists/{suite}/InRelease"))
            r = subprocess.run(["gpgv", "--keyring", keyring, "--output", str(out), str(src)],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                return Chain("bad signature", r.stderr.strip()[-300:])
            signed = out.read_text("utf-8", "replace")
        key = f"{component}/binary-{arch}/Packages.xz"
        entry = [ln.split() for ln in signed.splitlines() if ln.startswith(" ") and ln.split()[-1:] == [key]]
        expected = next((parts[0] for parts in entry if len(parts[0]) == 64), "")
        if not expected:
            return Chain("missing", f"InRelease lists no SHA256 for {key}")
        urls = [f"{archive_url}/dists/{suite}/{key}"]
        if "\nAcquire-By-Hash: yes" in signed:
            urls.insert(0, f"{archive_url}/dists/{suite}/{component}/binary-{arch}/by-hash/SHA256/{expected}")
        for url in urls:
            resp = http.get(url)
            if resp.status_code != 404:
                break
        if resp.status_code != 200:
            return Chain("missing", f"{url}: HTTP {resp.status_code}")
        if _sha256(resp.content) != expected:
            return Chain("index mismatch", url, expected, _sha256(resp.content))
        stanza = find_stanza(lzma.decompress(resp.content), package)
        if stanza is None:
            return Chain("missing", f"{suite}/{arch} has no {package}")
        want = fields(stanza)["SHA256"]
        resp = http.get(f"{archive_url}/{fields(stanza)['Filename']}")
        if resp.status_code != 200:
            return Chain("missing", f"{fields(stanza)['Filename']}: HTTP {resp.status_code}")
        if _sha256(resp.content) != want:
            return Chain("deb mismatch", fields(stanza)["Filename"], want, _sha256(resp.content))
        return Chain("consistent", f"{package} {fields(stanza).get('Version', '?')}", want, want)
