"""The Alpine base's pure steps: which names are wanted, the iptables
family's links, the catalog's architecture table."""

from __future__ import annotations

import pytest

from archport.strategies.transplant_alpine import wanted_names
from archport.transplant import configure, parse_apk
from archport.transplant.mapping import load_map

DB = parse_apk("P:busybox\nV:1-r0\n\nP:musl\nV:1-r0\n\nP:iptables\nV:1.8.4-r2\n")


def test_world_names_what_was_asked_for_without_constraints_or_tags(tmp_path):
    (tmp_path / "etc" / "apk").mkdir(parents=True)
    (tmp_path / "etc" / "apk" / "world").write_text("busybox\niptables=1.8.4-r2\njq>1.5\ngit@edge\n!curl\n")
    assert wanted_names(DB, tmp_path) == (["busybox", "iptables", "jq", "git"], "/etc/apk/world")
    (tmp_path / "etc" / "apk" / "world").unlink()
    assert wanted_names(DB, tmp_path) == (["busybox", "musl", "iptables"], "/lib/apk/db/installed")


def test_the_iptables_family_points_at_the_backends_multi_binary():
    present = {"sbin/xtables-nft-multi", "sbin/xtables-legacy-multi", "sbin/iptables", "sbin/iptables-legacy"}
    links, record = configure.apk_iptables("legacy", present)
    assert ("sbin/iptables", "xtables-legacy-multi") in links and ("sbin/ip6tables-save", "xtables-legacy-multi") \
        in links and len(links) == 6
    assert record == "iptables family → /sbin/xtables-legacy-multi (6 commands)"
    assert configure.apk_iptables("legacy", {"sbin/xtables-nft-multi"}) == ([], "")
    with pytest.raises(ValueError):
        configure.apk_iptables("bpf", present)


def test_alpine_architectures_and_the_release_that_added_them():
    m = load_map()
    rv = m.alpine_arch("riscv64")
    assert rv.alpine == "riscv64" and not rv.has("3.19") and rv.has("3.20") and rv.has("3.21") and rv.has("edge")
    assert rv.source.url.startswith("https://")
    assert m.alpine_arch("arm", "v7").alpine == "armv7" and m.alpine_arch("arm", "v6").alpine == "armhf"
    assert m.alpine_arch("amd64").has("3.12") and m.alpine_arch("mips64le") is None


def test_the_mirror_and_keys_come_from_the_flags_else_the_machines_apk_configuration(tmp_path):
    from archport.fetch.alpine import branch_of, locate
    repos = tmp_path / "repositories"
    repos.write_text("# comment\n/media/cdrom/apks\n@testing http://mirror.invalid/alpine/edge/testing\n"
                     "http://mirror.invalid/alpine/v3.20/main\n")
    assert locate(None, str(tmp_path), str(repos)) == ("http://mirror.invalid/alpine", str(tmp_path))
    assert locate("http://127.0.0.1:8/alpine/", "/k", str(repos)) == ("http://127.0.0.1:8/alpine", "/k")
    assert locate(None, "/k", str(tmp_path / "absent"))[0] == ""
    assert branch_of("3.20") == "v3.20" and branch_of("edge") == "edge"


def _choose(tmp_path, repositories: str | None, **env_kw):
    """consider() for klipper-lb v0.3.5, with this machine's apk configuration
    replaced by ``repositories`` (None: none) and a keys directory."""
    import dataclasses

    from archport.catalog.loader import load
    from archport.platform import parse as parse_platform
    from archport.strategies.transplant import Transplant
    from tests.strategies.helpers import env, upstream
    up = upstream("rancher/klipper-lb:v0.3.5", load().component("klipper-lb"), {"Cmd": ["entry"]})
    up = dataclasses.replace(up, manifest=object())          # consider reads no layer: any manifest will do
    repos = tmp_path / "repositories"
    if repositories is not None:
        repos.write_text(repositories)
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    st = Transplant(sources_list=str(tmp_path / "none.list"), sources_dir=str(tmp_path / "none.d"),
                    apk_repositories=str(repos), apk_keys=str(keys))
    e = env(tmp_path, debian_archive="http://127.0.0.1:9/debian", **env_kw)
    return st.consider(up, parse_platform("linux/riscv64"), e)


def test_the_catalog_prefers_alpine_when_a_mirror_is_configured_with_debian_after_it(tmp_path):
    d = _choose(tmp_path, "http://127.0.0.1:9/alpine/v3.22/main\n")
    assert d.applies and d.plan.kind == "alpine" and d.plan.where[2:] == ("3.22", "riscv64"), d
    assert d.plan.where[0] == "http://127.0.0.1:9/alpine" and d.plan.chosen_by == "the catalog"
    assert d.plan.fallback is not None and d.plan.fallback.label == "Debian trixie", d.plan
    assert d.reason.endswith("; Debian trixie if it does not answer"), d.reason


def test_without_an_alpine_mirror_the_catalog_takes_debian_and_says_why(tmp_path):
    d = _choose(tmp_path, None)
    assert d.applies and d.plan.kind == "debian" and d.plan.fallback is None, d
    assert "not alpine:3.22 (the catalog): no Alpine mirror" in d.reason, d.reason
    # The flag is not a preference: it is used or refused.
    d = _choose(tmp_path, None, transplant_onto="alpine:3.22")
    assert not d.applies and d.reason.startswith("no Alpine mirror"), d
    d = _choose(tmp_path, "http://127.0.0.1:9/alpine/v3.22/main\n", transplant_onto="debian:forky")
    assert d.applies and d.plan.kind == "debian" and d.plan.where[2] == "forky" and d.plan.fallback is None
