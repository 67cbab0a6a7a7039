"""release: fake upstream releases served from 127.0.0.1, verified by their checksum files."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import tarfile
import zipfile

import pytest

from archport.catalog.loader import load
from archport.platform import parse as parse_platform
from archport.strategies import NotPortable
from archport.fetch.http import check_url, parse_checksum
from archport.strategies.release import ReleaseStrategy

from .helpers import Server, env, layer_members, tiny_elf, upstream, with_tables

RISCV = parse_platform("linux/riscv64")
REF = "rancher/mirrored-coredns-coredns:1.11.1"
UPSTREAM_CONFIG = {"Entrypoint": ["/coredns"], "User": "nonroot:nonroot", "ExposedPorts": {"53/tcp": {}, "53/udp": {}}}


def _tgz(member: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        ti = tarfile.TarInfo(member)
        ti.size, ti.mode = len(data), 0o755
        tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    (root / "v1.11.1").mkdir(parents=True)
    srv = Server(root)
    yield root, srv
    srv.close()


def _component(url: str, **asset_kw):
    comp = load().component("coredns")
    base = comp.release_asset("1.11.1", "riscv64")
    asset = dataclasses.replace(
        base, url=url + "/v{version}/coredns_{version}_linux_{arch}.tgz", **asset_kw)
    return with_tables(comp, releases=(asset,))


def _publish(root, data: bytes, checksum: str | None, name="coredns_1.11.1_linux_riscv64.tgz"):
    (root / "v1.11.1" / name).write_bytes(data)
    if checksum is not None:
        (root / "v1.11.1" / (name + ".sha256")).write_text(checksum)


def test_release_verified_and_assembled(site, tmp_path):
    root, srv = site
    data = _tgz("coredns", tiny_elf("riscv64"))
    _publish(root, data, f"{hashlib.sha256(data).hexdigest()}  coredns_1.11.1_linux_riscv64.tgz\n")
    up = upstream(REF, _component(srv.url), UPSTREAM_CONFIG)
    e = env(tmp_path)
    assert ReleaseStrategy().consider(up, RISCV, e).applies
    out = ReleaseStrategy().build(up, RISCV, e)
    assert out.strategy == "release" and "checked against" in out.reason
    members = layer_members(out.built)
    assert members["coredns"].mode == 0o755
    cfg = json.loads(out.built.config)
    assert cfg["architecture"] == "riscv64" and "variant" not in cfg
    assert cfg["config"]["Entrypoint"] == ["/coredns"] and cfg["config"]["User"] == "nonroot:nonroot"
    assert out.built.manifest.annotations["io.archport.strategy"] == "release"


def test_checksum_mismatch_is_refused_and_nothing_built(site, tmp_path):
    root, srv = site
    data = _tgz("coredns", tiny_elf("riscv64"))
    _publish(root, data, "0" * 64 + "  coredns_1.11.1_linux_riscv64.tgz\n")
    up = upstream(REF, _component(srv.url), UPSTREAM_CONFIG)
    e = env(tmp_path)
    with pytest.raises(NotPortable) as exc:
        ReleaseStrategy().build(up, RISCV, e)
    assert "does not match its published checksum" in exc.value.reason and "nothing was built" in exc.value.reason
    assert not list((tmp_path / "work").rglob("*.tar.gz")) and not list((tmp_path / "work").rglob("*.tgz"))


def test_missing_checksum_needs_allow_unverified(site, tmp_path):
    root, srv = site
    _publish(root, _tgz("coredns", tiny_elf("riscv64")), None)
    up = upstream(REF, _component(srv.url), UPSTREAM_CONFIG)
    with pytest.raises(NotPortable) as exc:
        ReleaseStrategy().build(up, RISCV, env(tmp_path / "a"))
    assert "HTTP 404" in exc.value.reason and "--allow-unverified" in exc.value.next_step
    out = ReleaseStrategy().build(up, RISCV, env(tmp_path / "b", allow_unverified=True))
    assert out.built is not None and any("UNVERIFIED" in n for n in out.notes)


def test_wrong_architecture_asset_is_refused(site, tmp_path):
    root, srv = site
    data = _tgz("coredns", tiny_elf("amd64"))
    _publish(root, data, hashlib.sha256(data).hexdigest() + "\n")      # single-hash format
    up = upstream(REF, _component(srv.url), UPSTREAM_CONFIG)
    with pytest.raises(NotPortable, match="built for amd64, not riscv64"):
        ReleaseStrategy().build(up, RISCV, env(tmp_path))


def test_zip_with_checksums_txt(site, tmp_path):
    root, srv = site
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("dist/coredns", tiny_elf("riscv64"))
    data = buf.getvalue()
    name = "coredns_1.11.1_linux_riscv64.zip"
    (root / "v1.11.1" / name).write_bytes(data)
    (root / "v1.11.1" / "checksums.txt").write_text(
        f"{'1' * 64}  coredns_1.11.1_linux_amd64.zip\n{hashlib.sha256(data).hexdigest()} *{name}\n")
    comp = load().component("coredns")
    asset = dataclasses.replace(comp.release_asset("1.11.1", "riscv64"),
                                url=srv.url + "/v{version}/coredns_{version}_linux_{arch}.zip",
                                checksum_url=srv.url + "/v{version}/checksums.txt",
                                checksum_format="checksums.txt", archive="zip")
    out = ReleaseStrategy().build(upstream(REF, with_tables(comp, releases=(asset,)), UPSTREAM_CONFIG), RISCV, env(tmp_path))
    assert "coredns" in layer_members(out.built)


def test_consider_without_asset_for_the_arch(tmp_path):
    up = upstream("rancher/mirrored-coredns-coredns:1.9.1", "coredns", UPSTREAM_CONFIG)
    d = ReleaseStrategy().consider(up, RISCV, env(tmp_path))
    assert not d.applies and "no riscv64 release asset" in d.reason


def test_catalog_contract_stands_in_for_an_unreadable_upstream(site, tmp_path):
    root, srv = site
    data = _tgz("coredns", tiny_elf("riscv64"))
    _publish(root, data, hashlib.sha256(data).hexdigest())
    out = ReleaseStrategy().build(upstream(REF, _component(srv.url), None), RISCV, env(tmp_path))
    cfg = json.loads(out.built.config)["config"]
    assert cfg["Entrypoint"] == ["/coredns"] and cfg["User"] == "nonroot:nonroot"
    assert sorted(cfg["ExposedPorts"]) == ["53/tcp", "53/udp"]


def test_parse_checksum_formats():
    h = "a" * 64
    assert parse_checksum(h + "\n", "x.tgz") == h
    assert parse_checksum(f"{h}  x.tgz\n", "x.tgz") == h
    assert parse_checksum(f"{'b' * 64}  y.tgz\n{h} *./dist/x.tgz\n", "x.tgz") == h
    assert parse_checksum(f"{'b' * 64}  y.tgz\n", "x.tgz") is None
    assert parse_checksum("not a checksum", "x.tgz") is None


def test_plain_http_only_to_loopback():
    check_url("http://127.0.0.1:8080/x")
    check_url("https://example.test/x")
    with pytest.raises(Exception, match="only https"):
        check_url("http://example.test/x")
    check_url("http://example.test/x", signed=True)


def test_unreachable_checksum_is_not_unpublished(site, tmp_path):
    root, srv = site
    _publish(root, _tgz("coredns", tiny_elf("riscv64")), None)
    import socket
    with socket.socket() as s:                  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    comp = _component(srv.url, checksum_url=dead + "/sums.txt")
    with pytest.raises(NotPortable, match="could not be fetched"):
        ReleaseStrategy().build(upstream(REF, comp, UPSTREAM_CONFIG), RISCV, env(tmp_path, allow_unverified=True))
