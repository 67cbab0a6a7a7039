"""The one place that knows the bed's versions, ports and paths.

Everything else asks this module: no other file of the bed spells a port, a
directory or a component version.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# -- versions -------------------------------------------------------------------

KUBERNETES = "v1.34.4"
# Each k8s.io/X staging module is published as v0.<minor>.<patch> of the release.
STAGING = "v0.34.4"
CONTAINERD = "v1.7.28"
CRI_TOOLS = "v1.34.0"
ETCD_SUITE = "trixie"          # Debian suite whose amd64 etcd-server package we run


def debian_archive() -> str:
    """The Debian archive this machine's apt uses (its first ``deb`` source,
    as the deb strategy chooses it; never a host written here).  What it
    serves is checked against debian-archive-keyring through InRelease."""
    from archport.fetch.debian import apt_sources
    found = apt_sources()
    if not found:
        raise RuntimeError("no Debian archive in this machine's apt sources (/etc/apt/sources.list*)")
    return found[0].uri.rstrip("/")
K3S_VERSION = "v1.24.2+k3s1"   # what the board's stand-in reports

# -- k3s's defaults (k3s pkg/cli/cmds/server.go: ClusterCIDR, ServiceCIDR, ClusterDNS)

CLUSTER_CIDR = "10.42.0.0/16"
SERVICE_CIDR = "10.43.0.0/16"
CLUSTER_DNS = "10.43.0.10"
CLUSTER_DOMAIN = "cluster.local"
APISERVER_SERVICE_IP = "10.43.0.1"
NODE_NAME = "board"
# The node's InternalIP, on the board's own loopback device (kubelet refuses a
# 127/8 node IP); inside the board's network namespace only.
BOARD_IP = "172.31.242.2"
# A riscv64 pause image the bed imports itself, under a name that is never pulled.
BED_PAUSE_IMAGE = "testbed.invalid/pause:3.10"
# kubelet writes these (pkg/kubelet/cm/container_manager_linux.go, setupKernelTunables);
# inside the board each is a bed file bound over the /proc/sys entry.
KUBELET_SYSCTLS = ("vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
                   "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes")
CGROUP_ROOT = "/archport-testbed"

# -- where things live on the machine ---------------------------------------------

# Built components, keyed by name and version; outside any checkout so that a
# machine builds each version once.
CACHE = Path(os.environ.get("ARCHPORT_TESTBED_CACHE", "/var/cache/archport-testbed"))
# The bed's own directory: everything a running bed writes lives below it.
# Not under /etc or /var: the board sees those two through overlays whose
# upper directories live in the bed.
BED = Path(os.environ.get("ARCHPORT_TESTBED_DIR", "/srv/archport-testbed"))

CNI_BIN = Path("/usr/lib/cni")
BUILD_LOG = CACHE / "build.log"


@dataclass(frozen=True)
class Ports:
    """Loopback ports.  The apiserver, etcd and kubelet listen inside the
    board's network namespace; a forwarder makes each reachable as the same
    127.0.0.1:PORT from the host."""
    apiserver: int = 16443
    etcd_client: int = 12379
    etcd_peer: int = 12380
    kubelet: int = 10250        # inside the board's netns only
    ssh: int = 12222            # the board's sshd (part B), forwarded to the host
    upstream: int = 15000       # the registry that plays docker.io (part B)
    registry: int = 15001       # empty registry for ported images


PORTS = Ports()


@dataclass(frozen=True)
class Layout:
    """The bed directory's layout (host paths).  ``root`` is BED unless a test
    asks for another.  The board sees the ``board/*`` directories at the
    paths named by the BOARD_* constants below."""
    root: Path

    @property
    def run(self) -> Path: return self.root / "run"          # pids, ready marks
    @property
    def logs(self) -> Path: return self.root / "logs"        # one file per component
    @property
    def pki(self) -> Path: return self.root / "pki"
    @property
    def etcd_data(self) -> Path: return self.root / "etcd"
    @property
    def board(self) -> Path: return self.root / "board"
    @property
    def etc_k3s(self) -> Path: return self.board / "etc-rancher-k3s"          # /etc/rancher/k3s
    @property
    def var_k3s(self) -> Path: return self.board / "var-lib-rancher-k3s"      # /var/lib/rancher/k3s
    @property
    def run_k3s(self) -> Path: return self.board / "run-k3s"                  # /run/k3s
    @property
    def kubelet_dir(self) -> Path: return self.board / "var-lib-kubelet"      # /var/lib/kubelet
    @property
    def pods_logs(self) -> Path: return self.board / "var-log-pods"           # /var/log/pods
    @property
    def cni_state(self) -> Path: return self.board / "var-lib-cni"            # /var/lib/cni
    @property
    def upper_etc(self) -> Path: return self.board / "upper-etc"
    @property
    def upper_var(self) -> Path: return self.board / "upper-var"
    @property
    def overlay_work(self) -> Path: return self.board / "overlay-work"
    @property
    def sysctl_decoys(self) -> Path: return self.board / "sysctl-decoys"
    @property
    def kubeconfig(self) -> Path: return self.etc_k3s / "k3s.yaml"
    @property
    def containerd_config(self) -> Path: return self.var_k3s / "agent" / "etc" / "containerd" / "config.toml"
    @property
    def cni_conf(self) -> Path: return self.var_k3s / "agent" / "etc" / "cni" / "net.d"
    @property
    def containerd_socket(self) -> Path: return self.run_k3s / "containerd" / "containerd.sock"
    @property
    def kubelet_config(self) -> Path: return self.root / "kubelet-config.yaml"
    @property
    def cpuinfo(self) -> Path: return self.board / "cpuinfo"       # bound over the board's /proc/cpuinfo
    @property
    def runtime_spec(self) -> Path: return self.board / "runtime-base-spec.json"   # the CPU model (config.py)


# Paths as the board sees them (inside its mount namespace).
BOARD_ETC_K3S = "/etc/rancher/k3s"
BOARD_VAR_K3S = "/var/lib/rancher/k3s"
BOARD_CONTAINERD_SOCKET = "/run/k3s/containerd/containerd.sock"
BOARD_CONTAINERD_CONFIG = "/var/lib/rancher/k3s/agent/etc/containerd/config.toml"
BOARD_CONTAINERD_ROOT = "/var/lib/rancher/k3s/agent/containerd"
BOARD_CNI_CONF = "/var/lib/rancher/k3s/agent/etc/cni/net.d"
BOARD_KUBECONFIG = "/etc/rancher/k3s/k3s.yaml"
# (host path in the layout, board path) pairs bound at the board's start.
def board_binds(lay: Layout) -> list[tuple[Path, str]]:
    return [(lay.etc_k3s, BOARD_ETC_K3S), (lay.var_k3s, BOARD_VAR_K3S), (lay.run_k3s, "/run/k3s"),
            (lay.kubelet_dir, "/var/lib/kubelet"), (lay.pods_logs, "/var/log/pods"),
            (lay.cni_state, "/var/lib/cni")]



def layout(root: Path | None = None) -> Layout:
    return Layout(Path(root) if root is not None else BED)


def component_dir(name: str, version: str) -> Path:
    return CACHE / f"{name}-{version}"
