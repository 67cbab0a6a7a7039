"""The node's configuration, rendered: each component's command line and the
files it reads.  Pure functions of the layout; node.py writes and runs them.

Paths given to components that run inside the board are the board's paths
(k3s's places) where the board has one, and bed paths otherwise (the bed's
directory is visible at the same path inside the board).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

from testbed import paths
from testbed.build import by_name
from testbed.paths import Layout


def _bin(component: str, binary: str | None = None) -> str:
    return str(by_name()[component].path(binary or component))


def etcd_argv(lay: Layout) -> list[str]:
    p = paths.PORTS
    return [_bin("etcd"), "--name", paths.NODE_NAME, "--data-dir", str(lay.etcd_data),
            "--listen-client-urls", f"http://127.0.0.1:{p.etcd_client}",
            "--advertise-client-urls", f"http://127.0.0.1:{p.etcd_client}",
            "--listen-peer-urls", f"http://127.0.0.1:{p.etcd_peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{p.etcd_peer}",
            "--initial-cluster", f"{paths.NODE_NAME}=http://127.0.0.1:{p.etcd_peer}",
            "--listen-metrics-urls", "", "--log-level", "warn"]


def apiserver_argv(lay: Layout) -> list[str]:
    k = lay.pki
    return [
        _bin("kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{paths.PORTS.etcd_client}",
        f"--secure-port={paths.PORTS.apiserver}", "--bind-address=0.0.0.0",
        f"--advertise-address={paths.BOARD_IP}",
        f"--service-cluster-ip-range={paths.SERVICE_CIDR}",
        "--service-node-port-range=30000-32767",
        f"--client-ca-file={k}/ca.crt",
        f"--tls-cert-file={k}/apiserver.crt", f"--tls-private-key-file={k}/apiserver.key",
        f"--kubelet-client-certificate={k}/apiserver-kubelet-client.crt",
        f"--kubelet-client-key={k}/apiserver-kubelet-client.key",
        "--kubelet-preferred-address-types=InternalIP",
        f"--service-account-issuer=https://kubernetes.default.svc.{paths.CLUSTER_DOMAIN}",
        f"--service-account-key-file={k}/sa.pub", f"--service-account-signing-key-file={k}/sa.key",
        "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
        "--allow-privileged=true", "--profiling=false", "--anonymous-auth=true",
        # The aggregation layer, as k3s configures it (pkg/daemons/control/server.go):
        # front-proxy client certificate and request-header authentication, so an
        # APIService such as metrics-server's can become Available.
        f"--requestheader-client-ca-file={k}/front-proxy-ca.crt",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-username-headers=X-Remote-User",
        f"--proxy-client-cert-file={k}/front-proxy-client.crt",
        f"--proxy-client-key-file={k}/front-proxy-client.key",
        "--enable-aggregator-routing=true",
        "--v=1",
    ]


def _kubeconfig(lay: Layout, user: str) -> str:
    return str(lay.root / f"{user}.kubeconfig")


def controller_manager_argv(lay: Layout) -> list[str]:
    k = lay.pki
    kc = _kubeconfig(lay, "controller-manager")
    return [
        _bin("kube-controller-manager"), f"--kubeconfig={kc}",
        f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
        "--bind-address=127.0.0.1", "--leader-elect=false",
        "--allocate-node-cidrs=true", f"--cluster-cidr={paths.CLUSTER_CIDR}", "--node-cidr-mask-size=24",
        f"--service-cluster-ip-range={paths.SERVICE_CIDR}",
        f"--cluster-signing-cert-file={k}/ca.crt", f"--cluster-signing-key-file={k}/ca.key",
        f"--root-ca-file={k}/ca.crt", f"--service-account-private-key-file={k}/sa.key",
        "--use-service-account-credentials=true", "--configure-cloud-routes=false",
        "--v=1",
    ]


def scheduler_argv(lay: Layout) -> list[str]:
    kc = _kubeconfig(lay, "scheduler")
    return [_bin("kube-scheduler"), f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}", "--bind-address=127.0.0.1", "--leader-elect=false", "--v=1"]


def kube_proxy_config(lay: Layout) -> str:
    # conntrack: all zero, so kube-proxy leaves the kernel's conntrack sysctls
    # alone (nf_conntrack_max is global, not the board's to change).
    return f"""apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {{kubeconfig: {_kubeconfig(lay, 'kube-proxy')}}}
mode: iptables
clusterCIDR: {paths.CLUSTER_CIDR}
hostnameOverride: {paths.NODE_NAME}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack: {{maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}}
"""


def kube_proxy_argv(lay: Layout) -> list[str]:
    return [_bin("kube-proxy"), f"--config={lay.root / 'kube-proxy.yaml'}", "--v=1"]


def containerd_argv(lay: Layout) -> list[str]:
    # k3s passes root, state and address on the command line too
    # (pkg/agent/containerd/containerd.go), so the config file holds only plugins.
    return [_bin("containerd"), "--config", paths.BOARD_CONTAINERD_CONFIG,
            "--address", paths.BOARD_CONTAINERD_SOCKET,
            "--root", paths.BOARD_CONTAINERD_ROOT, "--state", "/run/k3s/containerd"]


# -- the board's CPU --------------------------------------------------------------


@dataclass(frozen=True)
class BoardCpu:
    """The CPU the board's riscv64 programs run on: the qemu-user CPU model
    (``-cpu``, or ``QEMU_CPU`` in the program's environment) and what the
    board's ``/proc/cpuinfo`` says of those harts, as Linux prints it
    (arch/riscv/kernel/cpu.c, show_cpuinfo)."""

    model: str          # qemu-user's -cpu value
    isa: str            # the cpuinfo ``isa`` line
    uarch: str = ""
    mmu: str = "sv39"


# CPU models of Debian's qemu-user 7.2 that are RV64GC with no vector, the
# boards most people run k3s on (VisionFive 2, LicheePi 4A).  sifive-u54 is
# SiFive's U54 core (target/riscv/cpu.c, rv64_sifive_u_cpu_init: RV64GC, no
# Zba/Zbb/Zbs, no V); the generic rv64 with those properties off is the same
# set.  Measured: a Go binary built GORISCV64=rva22u64 or rva23u64, and a C
# one built -march=rv64gcv, exit 132 (SIGILL) on both; rva20u64 runs.
CPUS = {
    "sifive-u54": BoardCpu("sifive-u54", "rv64imafdc_zicntr_zicsr_zifencei_zihpm", "sifive,u54-mc"),
    "rv64,v=false,zba=false,zbb=false,zbs=false":
        BoardCpu("rv64,v=false,zba=false,zbb=false,zbs=false", "rv64imafdc_zicntr_zicsr_zifencei_zihpm"),
}
# The knob: which of CPUS the board has (ARCHPORT_TESTBED_CPU names another).
BOARD_CPU_MODEL = "sifive-u54"
QEMU_CPU = "QEMU_CPU"        # the variable qemu-user reads (linux-user/main.c)


def board_cpu(environ: dict | None = None) -> BoardCpu:
    name = (os.environ if environ is None else environ).get("ARCHPORT_TESTBED_CPU") or BOARD_CPU_MODEL
    if name not in CPUS:
        raise ValueError(f"ARCHPORT_TESTBED_CPU={name!r}: the bed knows the CPU models {', '.join(CPUS)}")
    return CPUS[name]


def cpuinfo(cpu: BoardCpu, harts: int) -> str:
    """The board's /proc/cpuinfo: one block per hart, as a RISC-V kernel
    prints it (as many harts as the machine has CPUs, so that the kubelet's
    count and this file agree)."""
    block = "processor\t: {i}\nhart\t\t: {i}\nisa\t\t: {isa}\nmmu\t\t: {mmu}\n" + \
        ("uarch\t\t: {uarch}\n" if cpu.uarch else "")
    return "\n".join(block.format(i=i, isa=cpu.isa, mmu=cpu.mmu, uarch=cpu.uarch) for i in range(max(1, harts))) + "\n"


def base_runtime_spec(default_spec: str, cpu: BoardCpu) -> str:
    """containerd's default OCI spec (``ctr oci spec``) with the board's CPU
    model in the process environment, for the CRI runtime's
    ``base_runtime_spec``.

    Why the environment: binfmt_misc hands a container's riscv64 program to
    qemu-user with that program's own environment, and qemu-user takes its
    CPU model from ``QEMU_CPU`` there.  The CRI plugin starts every
    container's spec (and ``kubectl exec``'s process) from the base spec and
    only adds the image's and the pod's variables to it (containerd v1.7
    pkg/cri/server/container_create.go, runtimeSpec; oci.WithEnv keeps what
    is there).  The binfmt_misc entry itself stays the distribution's: it is
    the host's, shared by everything else on the machine.

    With a base spec the CRI plugin keeps the spec's own security defaults
    (container_create_linux.go, WithoutDefaultSecuritySettings), so those are
    removed here as that function removes them: rlimits, AppArmor, seccomp."""
    spec = json.loads(default_spec)
    proc = spec.setdefault("process", {})
    proc.pop("rlimits", None)
    proc.pop("apparmorProfile", None)
    spec.get("linux", {}).pop("seccomp", None)
    env = [e for e in proc.get("env") or [] if not e.startswith(QEMU_CPU + "=")]
    proc["env"] = [*env, f"{QEMU_CPU}={cpu.model}"]
    return json.dumps(spec, indent=2) + "\n"


def containerd_config(sandbox_image: str = paths.BED_PAUSE_IMAGE, config_path: str | None = None,
                      base_spec: str | None = None) -> str:
    """containerd 1.7 configuration (version 2), the shape of k3s's template
    (pkg/agent/templates/templates_linux.go) plus what this VM needs, and the
    board's CPU model through the runtime's base spec (:func:`base_runtime_spec`)."""
    base_spec = str(paths.layout().runtime_spec) if base_spec is None else base_spec
    registry = f'\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "{config_path}"\n' \
        if config_path else ""
    return f"""version = 2

[plugins."io.containerd.internal.v1.opt"]
  path = "{paths.BOARD_VAR_K3S}/agent/containerd"

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "10010"
  enable_selinux = false
  enable_unprivileged_ports = true
  enable_unprivileged_icmp = true
  sandbox_image = "{sandbox_image}"
  # The VM lacks CAP_SYS_RESOURCE: oom_score_adj may only be raised.
  restrict_oom_score_adj = true

[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  disable_snapshot_annotations = true

[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "{paths.CNI_BIN}"
  conf_dir = "{paths.BOARD_CNI_CONF}"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
  base_runtime_spec = "{base_spec}"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = false
{registry}"""


def cni_conflist(pod_cidr: str = "10.42.0.0/24") -> str:
    """Stock CNI: a bridge with host-local addresses from the node's pod CIDR
    (the single node gets the first /24 of the cluster CIDR), and portmap."""
    return json.dumps({
        "cniVersion": "1.0.0", "name": "cbr0",
        "plugins": [
            {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": False, "hairpinMode": True,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": pod_cidr}]],
                      "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }, indent=2)


def kubelet_config(lay: Layout) -> str:
    k = lay.pki
    return f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: {k}/ca.crt}}
authorization: {{mode: Webhook}}
tlsCertFile: {k}/kubelet.crt
tlsPrivateKeyFile: {k}/kubelet.key
# This VM: cgroup v1 hybrid, no systemd.
cgroupDriver: cgroupfs
failCgroupV1: false
cgroupRoot: {paths.CGROUP_ROOT}
clusterDNS: [{paths.CLUSTER_DNS}]
clusterDomain: {paths.CLUSTER_DOMAIN}
containerRuntimeEndpoint: unix://{paths.BOARD_CONTAINERD_SOCKET}
resolvConf: {kubelet_resolv_conf(resolv_conf())[0]}
failSwapOn: false
# The test machine's disk is shared: never evict for disk pressure.
evictionHard:
  memory.available: 50Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
protectKernelDefaults: false
"""


def kubelet_argv(lay: Layout) -> list[str]:
    return [_bin("kubelet"), f"--config={lay.kubelet_config}",
            f"--kubeconfig={_kubeconfig(lay, 'kubelet-client')}",
            f"--hostname-override={paths.NODE_NAME}", f"--node-ip={paths.BOARD_IP}", "--v=1"]


def kubelet_resolv_conf(board_resolv: str) -> tuple[str, str | None]:
    """The resolv.conf k3s gives its kubelet (pure): the board's own when every
    nameserver in it is a global unicast address, else a file of its own with
    ``nameserver 8.8.8.8`` (k3s pkg/agent/config, locateOrGenerateResolvConf;
    /run/systemd/resolve/resolv.conf, its second choice, does not exist on the
    board).  Pods with dnsPolicy Default (coredns) read it: with the board's
    loopback stub, coredns's ``forward . /etc/resolv.conf`` would reach itself
    and its loop plugin stops it.  The board has no route out, so lookups sent
    to that address fail at once and nothing leaves the machine.  (Where k3s
    writes the file moved between releases; the rule is the same.)
    Returns (path on the board, content to write or None)."""
    servers = [line.split()[1] for line in board_resolv.splitlines()
               if line.startswith("nameserver") and len(line.split()) > 1]
    if servers and all(_global_unicast(x) for x in servers):
        return "/etc/resolv.conf", None
    return f"{paths.BOARD_VAR_K3S}/agent/etc/resolv.conf", "nameserver 8.8.8.8\n"


def _global_unicast(text: str) -> bool:
    import ipaddress
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_multicast or ip.is_link_local or ip.is_unspecified
                or (ip.version == 4 and ip == ipaddress.IPv4Address("255.255.255.255")))


def resolv_conf() -> str:
    # The board has no route out: lookups of public names fail, as they do on a
    # board whose DNS cannot reach the internet.
    return "# archport test bed: no resolver is reachable from the board\nnameserver 127.0.0.53\n"
