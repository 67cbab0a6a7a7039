"""What the bed must leave alone on the host: sysctls (those kubelet writes and
the network ones CNI and a runtime touch), mounts and network links."""
from __future__ import annotations

import subprocess
from pathlib import Path

from testbed import paths

NET_SYSCTLS = ("net/ipv4/ip_forward", "net/ipv4/conf/all/forwarding", "net/ipv4/conf/default/forwarding",
               "net/ipv4/ip_unprivileged_port_start", "net/ipv4/ping_group_range",
               "net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables",
               "net/netfilter/nf_conntrack_max", "net/ipv6/conf/all/forwarding")
# Other test runs on this machine mount and unmount below /tmp (their own
# containerd's snapshots): not ours to judge.
FOREIGN_MOUNTS = ("/tmp/",)


def sysctls() -> dict[str, str]:
    out = {}
    for name in (*paths.KUBELET_SYSCTLS, *NET_SYSCTLS):
        try:
            out[name] = Path(f"/proc/sys/{name}").read_text().strip()
        except OSError:
            out[name] = "<absent>"
    return out


def mounts() -> list[tuple[str, str, str]]:
    rows = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, right = line.split(" - ", 1)
        target = left.split()[4]
        fstype, source = right.split()[:2]
        if not target.startswith(FOREIGN_MOUNTS):
            rows.append((target, fstype, source))
    return sorted(rows)


def links() -> list[str]:
    cp = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True)
    # Interface names and flags; counters and link indexes aside.
    return sorted(" ".join(line.split()[1:3]) for line in cp.stdout.splitlines())


def paths_absent() -> dict[str, bool]:
    return {p: Path(p).exists() for p in ("/etc/rancher", "/var/lib/rancher", "/var/lib/kubelet", "/etc/cni/net.d",
                                         "/run/k3s", "/var/lib/cni")}


def snapshot() -> dict:
    return {"sysctls": sysctls(), "mounts": mounts(), "links": links(), "paths": paths_absent()}
