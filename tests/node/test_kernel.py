"""A kernel config against what k3s needs, on recorded vendor-kernel configs
(tests/fixtures/boards/*.config; each header says where its facts come from)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from archport.errors import BadInput
from archport.node.kernel import REQUIRED, check_config, requirements

BOARDS = Path(__file__).resolve().parents[1] / "fixtures" / "boards"


def check(name: str):
    return check_config((BOARDS / f"{name}.config").read_text())


def test_the_list_is_k3s_check_config_with_its_source():
    reqs = requirements()
    assert "k3s-io/k3s" in reqs.source and "check-config.sh" in reqs.source
    required = {o for g in reqs.groups if g.level == REQUIRED for o in g.options}
    assert {"NAMESPACES", "CGROUPS", "MEMCG", "SECCOMP", "BRIDGE_NETFILTER", "POSIX_MQUEUE"} <= required
    assert {b.name for b in reqs.backends} == {"legacy", "nft"}


def test_jh7110_vendor_kernel_without_seccomp_blocks_k3s():
    k = check("jh7110")
    assert k.version == "5.15.0" and not k.ok
    assert [(g.group, g.options) for g in k.blocking] == [("seccomp", ("SECCOMP",))]
    assert "pods fail to start" in k.blocking[0].explains


def test_th1520_lacks_fair_group_sched_so_no_cpu_weight():
    k = check("th1520")
    assert k.ok and k.lacks("cgroup-extras")
    gap = next(g for g in k.gaps if g.group == "cgroup-extras")
    assert "FAIR_GROUP_SCHED" in gap.options and "cpu.weight" in gap.explains


def test_k1_nft_only_has_no_legacy_backend():
    k = check("k1")
    assert k.backends == ("nft",) and k.ok
    assert k.lacks("netfilter-legacy-tables") and not k.blocking
    gap = next(g for g in k.backend_gaps if g.group == "iptables-legacy")
    assert "IP_NF_IPTABLES" in gap.options and "ServiceLB" in gap.explains


def test_sg2042_without_vxlan_breaks_flannel():
    k = check("sg2042")
    assert k.ok and [g.group for g in k.gaps] == ["vxlan"] and "flannel" in k.gaps[0].explains
    d = k.to_dict()
    assert d["missing"][0]["options"] == ["CONFIG_VXLAN"] and d["iptables_backends"] == ["legacy", "nft"]


def test_no_backend_at_all_is_not_ok():
    text = (BOARDS / "k1.config").read_text().replace("CONFIG_NF_TABLES=m", "# CONFIG_NF_TABLES is not set")
    k = check_config(text)
    assert k.backends == () and not k.ok


def test_version_bound_options_follow_the_release():
    text = "CONFIG_NAMESPACES=y\n"
    assert check_config(text, release="4.4.0").lacks("devpts")
    assert not check_config(text, release="6.1.0").lacks("devpts")


def test_the_host_kernel_config_reads():
    # /proc/config.gz when the host has one: the bed's board kernel is the host's
    p = Path("/proc/config.gz")
    if p.exists():
        k = check_config(gzip.decompress(p.read_bytes()).decode())
        assert k.version and k.options > 100


@pytest.mark.parametrize("text", ["", "hello\nworld\n", "# just a comment\n"])
def test_not_a_config_is_bad_input(text):
    with pytest.raises(BadInput):
        check_config(text)
