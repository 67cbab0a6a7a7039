"""Node findings and crictl explanations (pure, from Facts values)."""

from dataclasses import replace
from pathlib import Path

from archport.doctor import analyze
from archport.node import collect
from archport.node import facts as F

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"


def healthy():
    return collect.read(FIX / "healthy")


def causes(facts):
    return {g.cause for g in analyze.analyze(facts).groups}


def test_healthy_has_no_node_findings():
    assert causes(healthy()) == set()


def test_sv57_with_old_go():
    f = replace(healthy(), mmu="sv57", go_version="go1.18.1")
    assert "node-sv57" in causes(f)
    assert "node-sv57" not in causes(replace(f, go_version="go1.20.5"))
    assert "node-sv57" not in causes(replace(f, mmu="sv48"))


def test_kernel_facts():
    f = replace(healthy(), cpu_weight=False, iptables_mode="legacy", vxlan="missing", ip_forward="0")
    assert {"node-cgroup-cpu", "node-iptables-legacy", "node-vxlan", "node-ip-forward"} <= causes(f)
    # the user chose not to need them
    f2 = replace(f, config={"disable": ["servicelb"], "flannel-backend": "host-gw"})
    assert not {"node-iptables-legacy", "node-vxlan"} & causes(f2)


def test_clock_far_behind_the_collector():
    f = replace(healthy(), clock="1970-01-01T00:02:11Z", collected_at="2026-11-20T08:41:12Z")
    rep = analyze.analyze(f)
    assert rep.groups[0].cause == "node-clock" and not rep.healthy


def test_fact_parsers():
    raw = {
        "version": F.Raw("k3s version v1.24.2+k3s1 (f3b4a5f3)\ngo version go1.18.1\n"),
        "mmu": F.Raw("mmu\t\t: sv57\n"),
        "cgroup": F.Raw("controllers: cpuset io memory pids\ncpu.weight: missing\n"),
        "iptables": F.Raw("iptables v1.8.7 (legacy)\n"),
        "registries": F.Raw("mirrors: [unclosed\n"),
    }
    f = F.parse(raw)
    assert (f.k3s_version, f.go_version, f.mmu) == ("v1.24.2+k3s1", "go1.18.1", "sv57")
    assert f.cpu_weight is False and "cpu" not in f.cgroup_controllers and f.iptables_mode == "legacy"
    assert "registries (unparseable)" in f.missing and "cluster" in f.missing


def test_sandboxes_are_mapped_to_pods_by_uid():
    f = collect.read(FIX / "broken-riscv64")
    notes = analyze.analyze(f).notes
    assert notes[0].startswith("crictl pods lists 9 sandboxes for 6 pods")
    assert "3 sandboxes are NotReady; 3 of them are earlier attempts" in notes[1]
