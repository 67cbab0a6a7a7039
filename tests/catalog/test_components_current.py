"""The components of k3s's current lines, as catalog data: each version's
facts from its own source, read back through the catalog's API."""

from __future__ import annotations

import pytest

from archport.catalog.loader import CatalogError, load, load_texts
from archport import reference


def test_pause_3_10_x_is_fetched_from_the_kubernetes_release_that_builds_it():
    pause = load().component("pause")
    assert pause.c_build("3.10.2").module_version == "v1.36.1"
    assert pause.c_build("3.10.1").module_version == "v1.33.6"
    assert pause.c_build("3.6").module_version == "v1.23.0"
    assert pause.smoke_recipe("3.10.2").signal.expect == r"pause\.c v3\.10\.2"
    assert "linux/riscv64" not in pause.contract("3.10.2").upstream_platforms


def test_busybox_names_the_image_it_mirrors():
    busybox = load().component("busybox")
    assert busybox.mirrored(reference.parse("rancher/mirrored-library-busybox:1.37.0")) == "library/busybox"
    # behind a system default registry too
    assert busybox.mirrored(reference.parse("registry.example.test/rancher/mirrored-library-busybox:1.37.0")) \
        == "library/busybox"
    assert busybox.deb_package("1.37.0", "riscv64") is not None      # Debian's, when the mirrored image has none


def test_a_mirrors_field_names_a_repository_only():
    base = load()
    texts = {"components/x.toml": '''
name = "x"
description = "x"
kind = "c"
[[image]]
repository = "example/x"
mirrors = "library/x:1.0"
source = "https://example.test/x"
[[c]]
repository = "https://example.test/x"
files = ["x.c"]
source = "https://example.test/x"
'''}
    with pytest.raises(CatalogError, match="mirrors names a repository without tag"):
        load_texts(texts)
    assert base.component("busybox")


@pytest.mark.parametrize("tag, helm", [
    ("v0.9.0-build20240730", ("helm.sh/helm/v3", "v3.15.3")),
    ("v0.9.12-build20251215", ("helm.sh/helm/v3", "v3.19.4")),
    ("v0.10.0-build20260513", ("helm.sh/helm/v3", "v3.20.2")),
    ("v0.11.1-build20260615", ("helm.sh/helm/v4", "v4.1.4")),
])
def test_klipper_helm_v0_9_to_v0_11_helm_and_the_blocker(tag, helm):
    kh = load().component("klipper-helm")
    b = kh.binary(tag, "/usr/bin/helm")
    assert (b.module, b.version) == helm
    assert b.ldflags_for(b.version)[:2] == ("-w", "-s")
    assert f"-X {helm[0]}/internal/version.version={helm[1]}" in " ".join(b.ldflags_for(b.version))
    assert kh.distro_for(tag) is not None and "riscv64" not in " ".join(kh.contract(tag).upstream_platforms)
    (blocked,) = kh.blocked_for(tag)
    assert blocked.module == "github.com/k3s-io/helm-set-status"
    msg = blocked.message("klipper-helm", tag)
    assert msg.startswith(f"not supported here: klipper-helm {tag} needs the helm-set-status helm plugin")
    assert "403 Forbidden" in msg and "This module version is not available." in msg


def test_klipper_helm_v0_13_has_riscv64_upstream_and_nothing_blocks_v0_7():
    kh = load().component("klipper-helm")
    assert "linux/riscv64" in kh.contract("v0.13.3-build20260727").upstream_platforms
    assert kh.distro_for("v0.13.3-build20260727") is None
    assert kh.blocked_for("v0.7.3-build20220613") == () and kh.distro_for("v0.7.3-build20220613").base == "alpine:3.15"


def test_klipper_lb_v0_4_entry_chooses_the_backend():
    lb = load().component("klipper-lb")
    d = lb.distro_for("v0.4.17")
    assert d.iptables == "entry" and "lsmod" in d.entry_commands and "debian:trixie" in d.onto
    assert lb.distro_for("v0.3.5").iptables == ""
    assert lb.distro_for("v0.4.0").iptables == ""


def test_the_upgrade_images_are_named_with_what_blocks_them():
    cat = load()
    suc = cat.about("rancher/system-upgrade-controller:v0.20.1")
    assert suc.startswith("system-upgrade-controller: ") and "not supported here" in suc
    assert "github.com/rancher/system-upgrade-controller" in suc and "403 Forbidden" in suc
    assert cat.component("system-upgrade-controller").go_build("v0.20.1").module == \
        "github.com/rancher/system-upgrade-controller"
    upgrade = cat.about("rancher/k3s-upgrade:v1.36.1-k3s1")
    assert upgrade.startswith("k3s-upgrade: ") and "riscv64" in upgrade
    assert cat.about("example.test/unknown:1") == ""
