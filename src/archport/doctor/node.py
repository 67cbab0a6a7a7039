"""Findings about the node itself, and what ``crictl pods`` means.

* Sv57: Go ≤ 1.19 binaries crash on kernels that hand out 57-bit virtual
  addresses (Go's riscv64 runtime assumed at most 48 bits; fixed in Go 1.20,
  golang/go#54104).  We read the mmu line of /proc/cpuinfo and the Go version
  k3s prints; the images' binaries are checked in :mod:`.sv57`.
* cgroup v2 without the cpu controller (``cpu.weight`` files) breaks the
  kubelet's QoS cgroups; k3s ``check-config`` tests the same.
* iptables in legacy mode on an nf_tables system breaks klipper-lb (ServiceLB);
  no vxlan module breaks flannel's default backend; ip_forward=0 breaks pod
  traffic.
* ``crictl pods`` lists sandboxes, not pods: POD ID is the sandbox id, and the
  pod is found through ``metadata.uid`` (CRI PodSandboxMetadata) or the
  ``io.kubernetes.pod.uid`` label.  NotReady sandboxes of a pod are its earlier
  attempts, not more failing pods.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from ..platform import Platform
from ..node.facts import Facts
from ..node.paths import CONFIG
from .fixes import NO5LVL
from .report import Group
from .sv57 import go_before_120


def findings(facts: Facts, platform: Platform) -> list[Group]:
    out: list[Group] = []
    cfg = facts.config
    if platform.architecture == "riscv64" and "sv57" in facts.mmu and go_before_120(facts.go_version):
        out.append(Group(
            "node-sv57", f"the kernel uses Sv57 paging and k3s {facts.k3s_version} was built with "
            f"{facts.go_version}: Go ≤ 1.19 binaries crash on Sv57", "error",
            evidence=[f"/proc/cpuinfo: mmu : {facts.mmu}", f"k3s --version: go version {facts.go_version}"],
            fix=["upgrade k3s to a release whose k3s --version shows go1.20 or newer (the k3s binary itself "
                 "crashes otherwise)",
                 "or " + NO5LVL], weight=95))
    # An empty controller list means cgroup v1 or an unreadable file: no verdict.
    if facts.cgroup_controllers and (facts.cpu_weight is False or "cpu" not in facts.cgroup_controllers):
        out.append(Group(
            "node-cgroup-cpu", "cgroup v2 has no cpu controller (no cpu.weight): the kubelet cannot set "
            "pod CPU shares", "error",
            evidence=[f"cgroup.controllers: {' '.join(facts.cgroup_controllers) or '(empty)'}"],
            fix=["enable CONFIG_CGROUP_SCHED and CONFIG_FAIR_GROUP_SCHED in the kernel; check with k3s check-config"],
            weight=88))
    disabled = " ".join(str(x) for x in (cfg.get("disable") or [])) if isinstance(cfg.get("disable"), list) \
        else str(cfg.get("disable") or "")
    if facts.iptables_mode == "legacy" and "servicelb" not in disabled:
        out.append(Group(
            "node-iptables-legacy", "iptables runs in legacy mode: klipper-lb (ServiceLB) rules do not apply",
            "warning", evidence=["iptables --version: (legacy)"],
            fix=["update-alternatives --set iptables /usr/sbin/iptables-nft (and ip6tables), then restart k3s; "
                 "or disable: servicelb in " + CONFIG], weight=30))
    backend = str(cfg.get("flannel-backend") or "vxlan")
    if facts.vxlan == "missing" and backend == "vxlan":
        out.append(Group(
            "node-vxlan", "the vxlan kernel module is missing: flannel's default backend cannot start",
            "error", evidence=["vxlan: not loaded, not available (modinfo vxlan)"],
            fix=["build the kernel with CONFIG_VXLAN, or set flannel-backend: host-gw in " + CONFIG],
            weight=87))
    if facts.ip_forward == "0":
        out.append(Group(
            "node-ip-forward", "net.ipv4.ip_forward is 0: pod traffic is not routed", "warning",
            evidence=["/proc/sys/net/ipv4/ip_forward: 0"], fix=["sysctl -w net.ipv4.ip_forward=1"], weight=35))
    skew = _clock_skew(facts)
    if skew:
        out.append(Group("node-clock", skew, "warning", evidence=[f"date -u: {facts.clock}"],
                         fix=["timedatectl set-ntp true (boards without an RTC boot in the past)"], weight=84))
    return out


def _clock_skew(facts: Facts) -> str:
    try:
        board = datetime.strptime(facts.clock, "%Y-%m-%dT%H:%M:%SZ")
        ref = datetime.strptime(facts.collected_at, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return ""
    hours = abs((ref - board).total_seconds()) / 3600
    if hours > 24:
        return (f"the node's clock says {facts.clock}, {hours / 24:.0f} days away from the collector's: "
                "TLS certificates will look expired or not yet valid")
    return ""


def sandbox_notes(facts: Facts) -> list[str]:
    sbs = facts.sandboxes
    if not sbs:
        return []
    uid_to_pod = {p.uid: p.key for p in facts.cluster.pods if p.uid}
    per_pod = Counter(uid_to_pod.get(s.uid, f"{s.namespace}/{s.name}") for s in sbs)
    not_ready = sum(1 for s in sbs if s.state.upper().endswith("NOTREADY"))
    pods = len(per_pod)
    notes = [f"crictl pods lists {len(sbs)} sandboxes for {pods} pods: POD ID is the sandbox id, not the pod "
             "UID (sandboxes map to pods through metadata.uid / the io.kubernetes.pod.uid label)"]
    if not_ready:
        earlier = sum(c - 1 for c in per_pod.values() if c > 1)
        notes.append(f"{not_ready} sandboxes are NotReady; {earlier} of them are earlier attempts of the same "
                     "pods, not more failing pods")
    return notes
