"""traefik's shape transplanted onto an Alpine base, end to end, and the refusals.

The upstream stand-in is Alpine-shaped and amd64 only, as the official
traefik image is (alpine + ca-certificates + tzdata, the binary at
/usr/local/bin/traefik, /entrypoint.sh): ``lib/apk/db/installed`` names
busybox, ca-certificates and tzdata with their files (placeholder bytes:
they are replaced, never carried), ``etc/apk/world`` names the same three,
busybox's applet links (``/bin/sh -> /bin/busybox``) belong to no package,
and the binary is example.test/hello@v1.2.3, which the fixture proxy serves,
so no ``--substitute`` is needed.

Alpine's mirrors are not reachable here: the port reads a loopback Alpine
repository (tests/support/apkrepo.py) signed with a throwaway key, holding
riscv64 content under Alpine's names, and checks the chain apk checks
(signed index, ``C:``, ``datahash``, each file's SHA-1).  Each refusal breaks
one link and asserts that nothing was pushed.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from archport.transplant import parse_apk
from tests.strategies.helpers import Server
from standins import skopeo
from tests.support import apkrepo
from tests.support.cli import archport
from tests.support.port import OLD_GO, go_install, skopeo_raw

from standins.debian import PATH_ENV, push, suite
from standins.debian import TRAEFIK_ENTRYPOINT as ENTRYPOINT

# Under a path of its own, so that test_traefik's stand-in of the same name
# (same session registry) and this one never overwrite each other.
REPO_TAG = "alpine-base/rancher/mirrored-library-traefik:2.6.2"
CONFIG = {"Entrypoint": ["/entrypoint.sh"], "Cmd": ["traefik"], "ExposedPorts": {"80/tcp": {}}, "Env": [PATH_ENV]}
ELF_PLACEHOLDER = b"\x7fELF\x02\x01\x01" + b"\0" * 57       # an x86_64-looking header; replaced by the port

# lib/apk/db/installed as apk writes it (tests/fixtures/transplant/apk-installed):
# the index lines of each package, then F: (directory) and R: (file) lines.
INSTALLED = """\
C:Q1QEh9Zmiol0PC0eo9LXif9ViF3S8=
P:busybox
V:1.33.1-r3
A:x86_64
S:499000
I:950272
T:Size optimized toolbox of many common UNIX utilities
U:https://busybox.net/
L:GPL-2.0-only
o:busybox
t:1629903120
D:so:libc.musl-x86_64.so.1
p:/bin/sh cmd:busybox=1.33.1-r3 cmd:sh=1.33.1-r3
F:bin
R:busybox
a:0:0:755

C:Q1F/b6W5SbF4EG26Y5BTlJRabXh5M=
P:ca-certificates
V:20211220-r0
A:x86_64
S:365000
I:684032
T:Common CA certificates PEM files from Mozilla
U:https://www.mozilla.org/en-US/about/governance/policies/security-group/certs/
L:MPL-2.0 AND MIT
o:ca-certificates
t:1640039880
D:/bin/sh so:libc.musl-x86_64.so.1 so:libcrypto.so.1.1
F:etc/ssl/certs
R:ca-certificates.crt
F:usr/share/ca-certificates/mozilla
R:ISRG_Root_X1.crt
R:DigiCert_Global_Root_G2.crt

C:Q1SRX/iAnOC1PBefYduALLjihJBUk=
P:tzdata
V:2022a-r0
A:x86_64
S:460000
I:3293184
T:Timezone data
U:https://www.iana.org/time-zones
L:Public-Domain
o:tzdata
t:1647614400
F:usr/share/zoneinfo
R:UTC
F:usr/share/zoneinfo/Europe
R:Berlin
"""
APPLETS = ("bin/sh", "bin/ash", "bin/cat", "bin/ls", "bin/date", "usr/bin/env", "usr/bin/wget")


def alpine_root(traefik: bytes) -> dict:
    files: dict = {"lib/apk/db/installed": INSTALLED.encode(), "etc/apk/world": b"busybox\nca-certificates\ntzdata\n"}
    for p in parse_apk(INSTALLED).packages:
        for f in p.files:
            files[f] = (ELF_PLACEHOLDER, 0o755) if f.startswith("bin/") else (f"{p.name} {f}\n".encode(), 0o644)
    for applet in APPLETS:
        files[applet] = "->/bin/busybox"
    files.update({"etc/passwd": b"root:x:0:0:root:/root:/bin/ash\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n",
                  "etc/group": b"root:x:0:root\nnobody:x:65534:\n", "tmp": ("dir", 0o1777, 0, 0),
                  "usr/local/bin/traefik": (traefik, 0o755), "entrypoint.sh": (ENTRYPOINT, 0o755)})
    return files


@pytest.fixture(scope="module")
def upstream_ref(registry_plain, tmp_path_factory, go_env):
    tmp = tmp_path_factory.mktemp("alpine-traefik")
    binary = go_install("example.test/hello@v1.2.3", "amd64", go_env, tmp, "-X main.version=2.6.2", OLD_GO)
    push(tmp, registry_plain, REPO_TAG, {"amd64": alpine_root(binary.read_bytes())}, CONFIG)
    return f"{registry_plain.host}/{REPO_TAG}"


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return apkrepo.keypair(tmp_path_factory.mktemp("apk-key"))


@pytest.fixture(scope="module")
def repo(tmp_path_factory, key):
    """The good repository: v3.20/main/riscv64 (no community: a 404 there is an absent repository)."""
    root = tmp_path_factory.mktemp("alpine-mirror")
    packages = apkrepo.riscv64_packages()
    apkrepo.write_repo(root, "v3.20", "main", "riscv64", packages, key)
    return root, packages


def _port(ref: str, reg, mirror: str, keys: Path, to: str, cache: Path, go_env, catalog, onto="alpine:3.20"):
    cp = archport("port", ref, "--arch", "riscv64", "--strategy", "transplant", "--transplant-onto", onto,
                  "--alpine-mirror", mirror, "--alpine-keys", str(keys), "--to", f"{reg.host}/{to}",
                  "--mirror", f"docker.io={reg.host}", "--mirror-only", "--cache-dir", str(cache),
                  "--catalog", str(catalog), "--json", env=go_env, environ={}, expect=None, timeout=2400)
    doc = json.loads(cp.stdout)
    return cp.returncode, doc["images"][0] if "images" in doc else doc


def _port_served(root: Path, ref: str, reg, keys: Path, to: str, cache: Path, go_env, catalog):
    """_port against ``root`` served on 127.0.0.1; also the paths the mirror was asked for."""
    server = Server(root)
    try:
        code, r = _port(ref, reg, server.url, keys, to, cache, go_env, catalog)
        return code, r, list(server.requests)
    finally:
        server.close()


def image_files(ref: str, dest: Path) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    """The riscv64 image's files at ``ref``, layers applied in order (skopeo copy to dir:)."""
    skopeo.skopeo("copy", "--override-arch", "riscv64", "--src-tls-verify=false", f"docker://{ref}", f"dir:{dest}",
                  timeout=600)
    manifest = json.loads((dest / "manifest.json").read_text())
    files: dict[str, tuple[tarfile.TarInfo, bytes]] = {}
    for layer in manifest["layers"]:
        blob = (dest / layer["digest"].split(":", 1)[1]).read_bytes()
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as tar:
            for m in tar:
                name = m.name.removeprefix("./").rstrip("/")
                files[name] = (m, tar.extractfile(m).read() if m.isfile() else b"")
    return files


def test_traefik_is_transplanted_onto_alpine(upstream_ref, repo, key, registry_plain, tmp_path, go_env,
                                             hello_catalog, containerd, binfmt_riscv64):
    root, packages = repo
    code, r, asked = _port_served(root, upstream_ref, registry_plain, key.keys_dir, "ported-alpine",
                                 tmp_path / "cache", go_env, hello_catalog)
    assert code == 0 and r["status"] == "ported" and r["strategy"] == "transplant", r
    assert r["check"].startswith("ok") and r["smoke"].startswith("ok (exit 0"), r
    assert "hello version=" in r["smokeOutput"] and "arch=riscv64" in r["smokeOutput"], r
    notes = " ".join(r["notes"])
    assert ("Alpine packages wanted (/etc/apk/world): busybox, ca-certificates, tzdata; "
            f"indexes signed: main by {key.name}.pub") in notes, notes
    assert f"update-ca-certificates: {len(packages[1].files)} certificates into the bundle" in notes, notes
    assert "/v3.20/main/riscv64/APKINDEX.tar.gz" in asked and "/v3.20/community/riscv64/APKINDEX.tar.gz" in asked
    assert {f"/v3.20/main/riscv64/{p.filename}" for p in packages} <= set(asked), asked

    versions = {p.name: p.version for p in packages}
    dest = r["destination"]
    man = skopeo_raw(f"{dest.rsplit(':', 1)[0]}@{r['platformDigest']}")
    ann = man["annotations"]
    assert ann["io.archport.transplant.base"].startswith("Alpine v3.20") and "riscv64" in ann[
        "io.archport.transplant.base"], ann
    assert sorted(ann["io.archport.transplant.packages"].split(",")) == sorted(f"{n}={v}" for n, v in versions.items())

    files = image_files(dest, tmp_path / "image")
    bundle = files["etc/ssl/certs/ca-certificates.crt"][1].decode()
    assert bundle.count("-----BEGIN CERTIFICATE-----") == len(packages[1].files), "one PEM per packaged .crt"
    assert "ca-certificates etc/ssl/certs" not in bundle                # not the upstream placeholder
    db = parse_apk(files["lib/apk/db/installed"][1].decode())
    assert {(p.name, p.version, p.arch) for p in db.packages} == {(p.name, p.version, p.arch) for p in packages}
    assert "bin/busybox" in next(p for p in db.packages if p.name == "busybox").files
    busybox = files["bin/busybox"][1]
    assert busybox[:4] == b"\x7fELF" and int.from_bytes(busybox[18:20], "little") == 243      # EM_RISCV
    assert files["usr/share/zoneinfo/Europe/Berlin"][1].startswith(b"TZif")
    assert files["bin/sh"][0].issym() and files["bin/sh"][0].linkname == "/bin/busybox"
    assert files["entrypoint.sh"][1] == ENTRYPOINT
    cfg = skopeo.config(f"docker://{dest}", "--tls-verify=false", arch="riscv64")["config"]
    assert cfg["Entrypoint"] == ["/entrypoint.sh"] and cfg["Cmd"] == ["traefik"]
    assert cfg["ExposedPorts"] == {"80/tcp": {}}


def _tampered(repo, tmp: Path) -> Path:
    root = tmp / "mirror"
    shutil.copytree(repo[0], root)
    return root


def _refused(code: int, r: dict, reg, to: str, status: str = "failed") -> str:
    assert code == 1 and r["status"] == status, r
    reason = r["reason"]
    assert "\n" not in reason and "Traceback" not in reason, reason
    assert r["destination"].startswith(f"{reg.host}/{to}/"), r
    assert skopeo_raw(r["destination"]) is None, "a refused port pushed something"
    return reason


def test_a_flipped_byte_in_an_apk_is_a_checksum_mismatch(upstream_ref, repo, key, registry_plain, tmp_path, go_env,
                                                        hello_catalog):
    """One byte of tzdata's .apk changed where gzip still reads it (the data
    member's MTIME): only the checksum chain can tell, and it must."""
    root = _tampered(repo, tmp_path)
    tzdata = next(p for p in repo[1] if p.name == "tzdata")
    path = root / "v3.20" / "main" / "riscv64" / tzdata.filename
    blob = bytearray(path.read_bytes())
    sig, control, _ = apkrepo.streams(bytes(blob))
    blob[len(sig) + len(control) + 4] ^= 0x01
    path.write_bytes(bytes(blob))
    code, r, _ = _port_served(root, upstream_ref, registry_plain, key.keys_dir, "refused-flip",
                                 tmp_path / "cache", go_env, hello_catalog)
    reason = _refused(code, r, registry_plain, "refused-flip")
    assert "checksum mismatch" in reason and tzdata.filename in reason, reason


def test_a_changed_file_in_an_apk_is_refused_against_the_index(upstream_ref, repo, key, registry_plain, tmp_path,
                                                              go_env, hello_catalog):
    """The same package rebuilt with one byte of one certificate changed and
    signed by the trusted key, the index left as it was: its ``C:`` no longer
    matches the control member.  The byte is chosen so that the .apk keeps
    its size, so the index's ``S:`` cannot be what tells."""
    root = _tampered(repo, tmp_path)
    ca = next(p for p in repo[1] if p.name == "ca-certificates")
    path = root / "v3.20" / "main" / "riscv64" / ca.filename
    original = path.read_bytes()
    for name, at in ((n, i) for n in sorted(ca.files) for i in range(100, 400, 7)):
        data, mode = ca.files[name]
        files = {**ca.files, name: (data[:at] + bytes([data[at] ^ 1]) + data[at + 1:], mode)}
        blob = apkrepo.apk(dataclasses.replace(ca, files=files), key)
        if len(blob) == len(original):
            break
    assert len(blob) == len(original) and blob != original
    path.write_bytes(blob)
    code, r, _ = _port_served(root, upstream_ref, registry_plain, key.keys_dir, "refused-changed",
                              tmp_path / "cache", go_env, hello_catalog)
    reason = _refused(code, r, registry_plain, "refused-changed")
    assert (f"{ca.filename}: checksum mismatch: the index pins {apkrepo.control_checksum(original)}, "
            f"the file's control member is {apkrepo.control_checksum(blob)}") in reason, reason


def test_an_index_signed_by_another_key_is_refused(upstream_ref, repo, key, registry_plain, tmp_path, go_env,
                                                   hello_catalog):
    """Another key under the trusted key's very name: the name matches a file
    in --alpine-keys, the signature does not verify with it."""
    root = _tampered(repo, tmp_path)
    other = apkrepo.keypair(tmp_path / "other")
    assert other.name == key.name
    where = root / "v3.20" / "main" / "riscv64"
    (where / "APKINDEX.tar.gz").write_bytes(
        apkrepo.index([(p, (where / p.filename).read_bytes()) for p in repo[1]], other))
    code, r, asked = _port_served(root, upstream_ref, registry_plain, key.keys_dir, "refused-sig",
                                 tmp_path / "cache", go_env, hello_catalog)
    reason = _refused(code, r, registry_plain, "refused-sig")
    assert "signature does not verify" in reason and "APKINDEX" in reason, reason
    assert not any(a.endswith(".apk") for a in asked), asked


def test_alpine_3_19_has_no_riscv64(upstream_ref, key, registry_plain, tmp_path, go_env, hello_catalog):
    code, r = _port(upstream_ref, registry_plain, "http://127.0.0.1:9", key.keys_dir, "refused-319",
                    tmp_path / "cache", go_env, hello_catalog, onto="alpine:3.19")
    _refused(code, r, registry_plain, "refused-319", "unsupported")
    transplant = [d for d in r["decisions"] if d["strategy"] == "transplant"]
    assert [d["applies"] for d in transplant] == [False], r
    assert transplant[0]["reason"].startswith("Alpine 3.19 has no riscv64: it has it from 3.20"), r
    # --strategy transplant names the one strategy asked for: its reason is the result's.
    assert r["reason"].startswith("not supported yet: transplant: Alpine 3.19 has no riscv64"), r


def test_a_missing_keys_directory_is_bad_input(tmp_path, go_env):
    cp = archport("port", "example/x:v1", "--arch", "riscv64", "--strategy", "transplant", "--transplant-onto",
                  "alpine:3.20", "--alpine-mirror", "http://127.0.0.1:9", "--alpine-keys", str(tmp_path / "absent"),
                  "--to", f"oci:{tmp_path / 'out'}", env=go_env, environ={}, expect=2)
    err = cp.stderr.strip()
    assert "absent" in err and "no such directory" in err and len(err.splitlines()) <= 2, err
    assert not (tmp_path / "out").exists()


def test_the_catalogs_alpine_base_falls_back_to_debian_when_the_mirror_does_not_answer(
        upstream_ref, key, registry_plain, tmp_path, go_env, hello_catalog, containerd, binfmt_riscv64):
    """No --transplant-onto: traefik's catalog entry prefers alpine:3.22, then
    debian:trixie.  A mirror and keys are given, so Alpine is chosen; the
    mirror refuses the connection at build time, so the port takes Debian
    (the Alpine names mapped through packages.toml) and says so."""
    cp = archport("port", upstream_ref, "--arch", "riscv64", "--strategy", "transplant",
                  "--alpine-mirror", "http://127.0.0.1:9", "--alpine-keys", str(key.keys_dir),
                  "--debian-suite", suite(), "--to", f"{registry_plain.host}/fallback",
                  "--mirror", f"docker.io={registry_plain.host}", "--mirror-only", "--cache-dir",
                  str(tmp_path / "cache"), "--catalog", str(hello_catalog), "--json", env=go_env, environ={},
                  expect=None, timeout=2400)
    (r,) = json.loads(cp.stdout)["images"]
    assert cp.returncode == 0 and r["status"] == "ported" and r["smoke"].startswith("ok (exit 0"), r
    notes = " ".join(r["notes"])
    assert "Alpine 3.22 (the catalog) did not answer: Alpine v3.22/riscv64: " in notes, notes
    assert f"; Debian {suite()} (the catalog) instead" in notes, notes
    assert "-> Debian busybox-static, ca-certificates, tzdata (catalog packages.toml)" in notes, notes
    man = skopeo_raw(f"{r['destination'].rsplit(':', 1)[0]}@{r['platformDigest']}")
    assert man["annotations"]["io.archport.transplant.base"] == f"Debian {suite()} riscv64", man["annotations"]


def test_a_bad_mirror_url_is_bad_input_and_never_echoes_credentials(tmp_path, go_env):
    for url, says in (("ftp://127.0.0.1/alpine", "expected http(s)://HOST[/PATH]"), ("http://", "expected http(s)"),
                      ("https://user:s3cret@127.0.0.1/alpine", "credentials in a mirror URL are not accepted")):
        cp = archport("port", "example/x:v1", "--transplant-onto", "alpine:3.20", "--alpine-mirror", url,
                      "--to", f"oci:{tmp_path / 'out'}", env=go_env, environ={}, expect=2)
        err = cp.stdout + cp.stderr
        assert says in err and "s3cret" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()
