"""Package databases and classification, from committed fixture files.

The Alpine path is tested against a hand-written ``lib/apk/db/installed``
(tests/fixtures/transplant/README.md): Alpine's repository is not reachable
here, so it is untested against a live Alpine image.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from archport.catalog import CatalogError
from archport.transplant import classify, load_map, parse_apk, parse_dpkg
from archport.transplant.classify import Entry

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "transplant"


def apk():
    return parse_apk((FIX / "apk-installed").read_text())


def test_apk_database_names_owners_and_files():
    db = apk()
    assert db.distro == "alpine"
    assert db.names == ("musl", "busybox", "alpine-baselayout", "jq", "bash", "ca-certificates")
    bb = db.package("busybox")
    assert bb.version == "1.34.1-r7" and bb.arch == "x86_64" and "so:libc.musl-x86_64.so.1" in bb.depends
    assert bb.files == ("bin/busybox", "etc/securetty")
    assert db.owner("/usr/bin/jq") == "jq" and db.owner("bin/bash") == "bash"
    assert db.owner("etc/passwd") == "alpine-baselayout"
    assert db.owner("usr/bin/entry") == ""
    assert db.package("ca-certificates").files[-1] == "usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt"


def test_dpkg_database_counts_installed_packages_only():
    lists = {p.name: p.read_text() for p in (FIX / "dpkg-info").glob("*.list")}
    db = parse_dpkg((FIX / "dpkg-status").read_text(), lists)
    assert db.names == ("busybox-static", "iptables")
    ipt = db.package("iptables")
    assert ipt.arch == "riscv64" and "libip4tc2" in ipt.depends and "netbase" in ipt.depends
    assert db.owner("/usr/sbin/xtables-legacy-multi") == "iptables"      # from iptables:riscv64.list
    assert db.owner("usr/bin/busybox") == "busybox-static"
    assert db.package("busybox-static").origin == "busybox"


def test_classify_a_klipper_helm_shaped_image():
    entries = [Entry("bin", "dir"), Entry("bin/busybox", "file", elf=True), Entry("bin/sh", "symlink"),
               Entry("bin/bash", "file", elf=True), Entry("usr/bin/jq", "file", elf=True),
               Entry("usr/bin/entry", "file"), Entry("usr/bin/helm_v3", "file", elf=True),
               Entry("usr/bin/tiller", "file", elf=True), Entry("etc/passwd", "file"),
               Entry("etc/group", "file"), Entry("lib/apk/db/installed", "file"),
               Entry("home/klipper-helm/.local/share/helm/plugins/helm-mapkubeapis/config/Map.yaml", "file")]
    c = classify(entries, apk())
    assert c.packages == ("bash", "busybox", "jq")
    assert c.binaries == ["usr/bin/helm_v3", "usr/bin/tiller"]
    assert c.accounts == ["etc/passwd", "etc/group"]
    assert c.database == ["lib/apk/db/installed"]
    assert "usr/bin/entry" in c.carried and "bin/sh" in c.carried and "bin" in c.carried
    assert any(p.endswith("Map.yaml") for p in c.carried)


def test_alpine_names_map_to_debian_with_their_source():
    m = load_map()
    wanted, unknown = m.debian_for(list(apk().names) + ["iptables", "ip6tables", "frobnicate"])
    assert wanted == ("busybox-static", "jq", "bash", "ca-certificates", "iptables")
    assert unknown == ("frobnicate",)
    assert m.source_of("ip6tables").url.startswith("https://")


@pytest.mark.parametrize("bad", ['[[map]]\nalpine = "x"\n', '[[map]]\nalpine = "x"\ndebian = []\n'
                                 'source = "https://e.example/x"\nverified = false\n',
                                 '[[map]]\nalpine = "x"\ndebian = []\nsource = "https://e.example/x"\nwho = 1\n'])
def test_the_map_is_validated(bad):
    with pytest.raises(CatalogError):
        load_map(bad)


def test_dependency_closure_from_a_packages_index():
    from archport.transplant.resolve import closure

    index = [
        {"Package": "jq", "Depends": "libjq1 (= 1.7.1-3), libc6 (>= 2.34)"},
        {"Package": "libjq1", "Depends": "libonig5 (>= 6.9.9), libc6:any"},
        {"Package": "libonig5", "Depends": "libc6"},
        {"Package": "libc6", "Depends": "libgcc-s1"},
        {"Package": "libgcc-s1", "Pre-Depends": "libc6"},                      # a cycle ends
        {"Package": "busybox-static", "Provides": "busybox"},
        {"Package": "iptables", "Depends": "netbase, libnftables1 | nftables-virtual, libmnl0"},
        {"Package": "netbase"},
        {"Package": "nft", "Provides": "nftables-virtual"},
    ]
    r = closure(index, ["jq", "busybox", "iptables"])
    names = [s["Package"] for s in r.packages]
    assert names.index("libc6") < names.index("libjq1") < names.index("jq")
    assert "busybox-static" in names and "nft" in names and "netbase" in names
    assert r.missing == ("libmnl0 (for iptables)",)
    assert ("libonig5", "libjq1") in r.why


def test_upstream_root_database_entries_and_iptables_backend(tmp_path):
    import os
    from archport.transplant import upstream

    root = tmp_path / "root"
    (root / "lib/apk/db").mkdir(parents=True)
    (root / "lib/apk/db/installed").write_text((FIX / "apk-installed").read_text())
    (root / "sbin").mkdir()
    (root / "sbin/xtables-legacy-multi").write_bytes(b"\x7fELF" + b"\0" * 60)
    os.symlink("xtables-legacy-multi", root / "sbin/iptables")
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/entry").write_text("#!/bin/sh\nexec iptables -t nat -S\n")
    db = upstream.database(root)
    assert db is not None and db.distro == "alpine" and "busybox" in db.names
    kinds = {e.path: (e.kind, e.elf) for e in upstream.entries(root)}
    assert kinds["sbin/iptables"] == ("symlink", False) and kinds["sbin/xtables-legacy-multi"] == ("file", True)
    assert kinds["usr/bin/entry"] == ("file", False)
    assert upstream.iptables_backend(root) == "legacy"
    os.unlink(root / "sbin/iptables")
    os.symlink("/sbin/xtables-nft-multi", root / "sbin/iptables")
    assert upstream.iptables_backend(root) == "nft"
    assert upstream.database(tmp_path) is None and upstream.iptables_backend(tmp_path) == ""


def test_configure_links_and_ca_bundle():
    from archport.transplant import configure

    present = {"usr/sbin/iptables-legacy", "usr/sbin/iptables-nft", "usr/sbin/ip6tables-legacy"}
    links, record = configure.alternatives("legacy", present)
    assert ("usr/sbin/iptables", "/etc/alternatives/iptables") in links
    assert ("etc/alternatives/iptables", "/usr/sbin/iptables-legacy") in links
    assert ("etc/alternatives/ip6tables", "/usr/sbin/ip6tables-legacy") in links
    assert "legacy (2 commands)" in record
    with pytest.raises(ValueError):
        configure.alternatives("ebtables", present)
    body, _ = configure.ca_bundle([("b.crt", b"B"), ("a.crt", b"A\n")])
    assert body == b"A\nB\n"
