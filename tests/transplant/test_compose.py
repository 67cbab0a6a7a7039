"""The pure and file-local steps of a transplant: unpacking a .deb, composing
the root, the configure steps, reading the upstream root, the Alpine map."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from archport.assemble.layer import FileSpec
from archport.catalog import CatalogError
from archport.errors import BadInput
from archport.catalog.loader import _distro
from archport.platform import parse as parse_platform
from archport.strategies import NotPortable
from archport.strategies.transplant import Transplant
from archport.strategies.transplant_debian import wanted_names
from archport.transplant import configure, parse_apk, upstream
from archport.transplant.compose import alias_links, aliased, compose
from archport.transplant.debs import dpkg_list, unpack

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "transplant"


# -- .deb unpacking ------------------------------------------------------------------

def _ar(members: list[tuple[str, bytes]]) -> bytes:
    out = b"!<arch>\n"
    for name, data in members:
        out += f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode() + data
        if len(data) % 2:
            out += b"\n"
    return out


def _deb(tmp: Path, entries: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]]) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for e in entries:
            ti, data = (e if isinstance(e, tuple) else (e, b""))
            if data:
                ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data) if data else None)
    p = tmp / "x.deb"
    p.write_bytes(_ar([("debian-binary", b"2.0\n"), ("control.tar.gz", b""), ("data.tar.gz", raw.getvalue())]))
    return p


def _ti(name: str, kind=tarfile.REGTYPE, mode=0o644, link="", uid=0) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.linkname, ti.uid = kind, mode, link, uid
    return ti


def test_unpack_keeps_modes_links_and_refuses_escapes(tmp_path):
    deb = _deb(tmp_path, [_ti("./", tarfile.DIRTYPE, 0o755), _ti("./usr", tarfile.DIRTYPE, 0o755),
                          (_ti("./usr/sbin/xtables-legacy-multi", mode=0o4755), b"\x7fELF..."),
                          _ti("./usr/sbin/iptables-legacy", tarfile.SYMTYPE, 0o777, "xtables-legacy-multi"),
                          _ti("./usr/sbin/hard", tarfile.LNKTYPE, 0o755, "./usr/sbin/xtables-legacy-multi"),
                          (_ti("../../etc/evil"), b"x"), _ti("./dev/null", tarfile.CHRTYPE)])
    u = unpack(deb, tmp_path / "spool")
    by = {f.path: f for f in u.files}
    assert set(by) == {"usr", "usr/sbin/xtables-legacy-multi", "usr/sbin/iptables-legacy", "usr/sbin/hard"}
    assert by["usr/sbin/xtables-legacy-multi"].mode == 0o4755
    assert Path(by["usr/sbin/xtables-legacy-multi"].source).read_bytes() == b"\x7fELF..."
    assert by["usr/sbin/iptables-legacy"].kind == "symlink" and by["usr/sbin/iptables-legacy"].target == \
        "xtables-legacy-multi"
    assert by["usr/sbin/hard"].source == by["usr/sbin/xtables-legacy-multi"].source
    assert any("evil" in r for r in u.refused) and any("dev/null" in r for r in u.refused)
    assert not (tmp_path / "etc").exists()
    assert dpkg_list(u.files).splitlines()[:2] == ["/.", "/usr"]


# -- composing ----------------------------------------------------------------------

def test_compose_writes_through_merged_usr_and_records_replacements():
    aliases = alias_links([FileSpec("bin", kind="symlink", target="usr/bin"),
                           FileSpec("lib", kind="symlink", target="usr/lib"),
                           FileSpec("etc/os-release", kind="symlink", target="../usr/lib/os-release")])
    assert aliases == {"bin": "usr/bin", "lib": "usr/lib"}
    assert aliased("bin/sh", aliases) == "usr/bin/sh" and aliased("bin", aliases) == "bin"
    upstream_entries = [FileSpec("/bin", kind="dir", mode=0o755),
                        FileSpec("/bin/sh", kind="symlink", target="/usr/bin/busybox"),
                        FileSpec("/bin/up", kind="symlink", target="../usr/share/x"),
                        FileSpec("/home/klipper-helm", kind="dir", mode=0o700, uid=1000, gid=1000),
                        FileSpec("/usr/bin/entry", data=b"#!/bin/sh\n", mode=0o755),
                        FileSpec("/usr/sbin/iptables", kind="symlink", target="/etc/alternatives/iptables")]
    package = [FileSpec("home/klipper-helm", kind="dir", mode=0o755),
               FileSpec("usr/bin/busybox", data=b"\x7fELF", mode=0o755)]
    configured = [FileSpec("usr/sbin/iptables", kind="symlink", target="/etc/alternatives/iptables"),
                  FileSpec("etc/alternatives/iptables", kind="symlink", target="/usr/sbin/iptables-nft")]
    links = [FileSpec(p, kind="symlink", target=t) for p, t in aliases.items()]
    c = compose([("upstream", upstream_entries), ("Debian busybox-static", package), ("aliases", links),
                 ("configure", configured)], aliases)
    files = {p: spec for p, (_, spec) in c.files.items()}
    assert files["bin"].kind == "symlink" and files["bin"].target == "usr/bin"
    assert files["usr/bin/sh"].target == "/usr/bin/busybox"
    assert files["usr/bin/up"].target == "/usr/share/x"             # a moved relative link names the same file
    assert files["home/klipper-helm"].mode == 0o700 and files["home/klipper-helm"].uid == 1000
    assert "bin/sh -> usr/bin/sh" in c.moved
    assert not c.replaced                                            # identical links are not replacements
    assert [s.path for s in c.specs()] == sorted(files)


def test_compose_records_a_replaced_upstream_file():
    c = compose([("upstream", [FileSpec("etc/x", data=b"upstream")]),
                 ("Debian x", [FileSpec("etc/x", data=b"debian")])], {})
    assert c.replaced == ["/etc/x: upstream's file replaced by Debian x's file"]


# -- configure steps -----------------------------------------------------------------

def test_alternatives_and_database():
    present = {"usr/sbin/iptables-legacy", "usr/sbin/iptables-nft", "usr/sbin/ip6tables-nft",
               "usr/sbin/iptables-nft-restore", "usr/sbin/iptables-legacy-save"}
    links, record = configure.alternatives("nft", present)
    assert ("usr/sbin/iptables", "/etc/alternatives/iptables") in links
    assert ("etc/alternatives/ip6tables", "/usr/sbin/ip6tables-nft") in links
    assert ("etc/alternatives/iptables-restore", "/usr/sbin/iptables-nft-restore") in links
    assert not any(p.endswith("iptables-save") for p, _ in links)          # no nft save here
    assert "nft (3 commands)" in record
    with pytest.raises(ValueError):
        configure.alternatives("xt", present)
    status = configure.dpkg_status([{"Package": "iptables", "Version": "1.8.11-2", "Architecture": "riscv64",
                                     "Depends": "libc6 (>= 2.38)", "Filename": "pool/x.deb",
                                     "Description": "tools\nline two\n."}]).decode()
    assert status.splitlines()[:2] == ["Package: iptables", "Status: install ok installed"]
    assert "Filename" not in status and "Description: tools\n line two\n ." in status
    from archport.transplant import parse_dpkg
    db = parse_dpkg(status, {"iptables.list": "/.\n/usr/sbin/iptables-legacy\n"})
    assert db.owner("usr/sbin/iptables-legacy") == "iptables"


def test_ca_bundle_concatenates_in_path_order():
    body, record = configure.ca_bundle([("usr/share/ca-certificates/b.crt", b"B"),
                                        ("usr/share/ca-certificates/a.crt", b"A\n")])
    assert body == b"A\nB\n" and "2 certificates" in record


# -- the upstream root ---------------------------------------------------------------

@pytest.mark.parametrize("links, want", [
    ({"sbin/iptables": "xtables-legacy-multi"}, "legacy"),          # Alpine before 1.8.9-r4
    ({"sbin/iptables": "xtables-nft-multi"}, "nft"),                # Alpine from 1.8.9-r4
    ({"usr/sbin/iptables": "/etc/alternatives/iptables",
      "etc/alternatives/iptables": "/usr/sbin/iptables-legacy"}, "legacy"),   # Debian alternatives
    ({}, ""),
])
def test_iptables_backend_of_the_upstream_root(tmp_path, links, want):
    for path, target in links.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, tmp_path / path)
    assert upstream.iptables_backend(tmp_path) == want


def test_alpine_database_maps_to_debian_names_or_refuses():
    """The Alpine code path against the committed apk database only: it is
    untested against a live Alpine repository (unreachable here)."""
    db = parse_apk((FIX / "apk-installed").read_text())
    wanted, notes = wanted_names(db)
    assert wanted == ["busybox-static", "jq", "bash", "ca-certificates"]
    assert "Alpine packages musl, busybox" in notes[0]
    odd = parse_apk("P:frobnicate\nV:1-r0\nA:x86_64\n")
    with pytest.raises(NotPortable) as e:
        wanted_names(odd)
    assert "frobnicate" in e.value.reason and "packages.toml" in e.value.next_step


def test_catalog_onto_is_validated():
    base = {"versions": "", "base": "alpine:3.12", "reason": "r", "source": "https://e.example/x"}
    assert _distro({**base, "onto": "debian:forky"}, "t").onto == ("debian:forky",)
    assert _distro({**base, "onto": ["alpine:3.22", "debian:trixie"]}, "t").onto == ("alpine:3.22", "debian:trixie")
    with pytest.raises(CatalogError):
        _distro({**base, "onto": ["alpine:3.22", 7]}, "t")
    with pytest.raises(CatalogError):
        _distro({**base, "onto": "alpine:latest"}, "t")


def test_paths_the_target_moved_get_links_unless_an_alias_covers_them():
    from archport.transplant.compose import moved_by_target
    c = compose([("Debian", [FileSpec("usr/bin/busybox", data=b"x"), FileSpec("usr/bin/jq", data=b"j")])], {})
    assert moved_by_target(["bin/busybox", "usr/bin/jq", "bin/nothing"], c) == ["/bin/busybox -> /usr/bin/busybox"]
    assert c.files["bin/busybox"][1].target == "/usr/bin/busybox"
    merged = compose([("Debian", [FileSpec("usr/bin/busybox", data=b"x")]),
                      ("aliases", [FileSpec("bin", kind="symlink", target="usr/bin")])], {"bin": "usr/bin"})
    assert moved_by_target(["bin/busybox"], merged) == []


def test_the_bases_are_the_flag_else_the_catalogs_in_order(tmp_path):
    import dataclasses

    from archport.catalog.loader import load
    from tests.strategies.helpers import env, options, upstream
    up = upstream("rancher/klipper-lb:v0.3.5", load().component("klipper-lb"), {"Cmd": ["entry"]})
    e = env(tmp_path)
    assert Transplant()._bases(up, e) == [("alpine:3.22", "the catalog"), ("debian:trixie", "the catalog")]
    assert Transplant()._bases(up, dataclasses.replace(e, **options(transplant_onto="debian:forky"))) == \
        [("debian:forky", "--transplant-onto")]
    d = Transplant().consider(up, parse_platform("linux/riscv64"), e)
    assert not d.applies and "no upstream platform image" in d.reason, d


def test_catalog_binaries_for_builds_without_a_version():
    from archport.catalog.loader import _binary, load
    helm = load().component("klipper-helm").binary("v0.7.3-build20220613", "/usr/bin/helm_v3")
    assert (helm.module, helm.version, helm.package) == ("helm.sh/helm/v3", "v3.8.1", "./cmd/helm")
    assert "helm.sh/helm/v3/internal/version.version=v3.8.1" in helm.ldflags_for(helm.version)
    tiller = load().component("klipper-helm").binary("v0.7.3-build20220613", "/usr/bin/tiller")
    assert (tiller.module, tiller.package) == ("k8s.io/helm", "./cmd/tiller") and tiller.gomod   # glide: the catalog's go.mod
    base = {"path": "/usr/bin/x", "module": "example.test/x", "version": "v1.0.0", "source": "https://e.example/x"}
    assert _binary(base, "t").package == "."
    assert _binary({**base, "version": ""}, "t").version == ""          # the component's version for the tag
    for bad in ({**base, "path": "usr/bin/x"}, {**base, "version": "latest"}, {**base, "x": {"a": 1}}):
        with pytest.raises((CatalogError, BadInput)):
            _binary(bad, "t")
