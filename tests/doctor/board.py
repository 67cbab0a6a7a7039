"""A stand-in k3s board for collection tests.

``k3s`` cannot run here, so a *stand-in* ``k3s`` script (the only double in
these tests) prints a fixture dump's recorded output for the subcommands doctor
runs.  Every other command (cat, tail, grep, ls, date, uname, iptables…) is
real and runs against the files laid out under a temporary root.
"""

from __future__ import annotations

import os
from pathlib import Path

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"

# Secrets planted on the board; none of them may survive in a dump.
SECRETS = {
    "registry_password": "s3cr3t-Registry-Pa55",
    "registry_auth": "Ym9hcmQ6czNjcjN0LVJlZ2lzdHJ5LVBhNTU=",
    "identity_token": "idt-9f8e7d6c5b4a39281706",
    "k3s_token": "K1075a3e1b5c9d2f4e6a8b0c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5::server:ab12cd34ef56ab78",
    "agent_token": "agent-Tok3n-0f1e2d3c4b5a",
    "client_key": "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUZha2VLZXk=",
    "bearer": "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl",
}

STANDIN = """#!/bin/sh
# Stand-in for k3s: prints the recorded output of a fixture dump.
D={dump}
case "$*" in
  "kubectl get pods,events,nodes -A -o json") cat "$D/kubectl.json" ;;
  "crictl pods -o json") cat "$D/crictl-pods.json" ;;
  "crictl images -o json") cat "$D/crictl-images.json" ;;
  "--version") cat "$D/k3s-version.txt" ;;
  *) echo "stand-in k3s: unexpected arguments: $*" >&2; exit 1 ;;
esac
"""


def install_standin(bin_dir: Path, dump: str = "broken-riscv64") -> Path:
    p = bin_dir / "k3s"
    p.write_text(STANDIN.format(dump=FIX / dump))
    p.chmod(0o755)
    return p


def make_root(root: Path, dump: str = "broken-riscv64") -> Path:
    s = SECRETS
    files = {
        "etc/rancher/k3s/config.yaml": (f"write-kubeconfig-mode: \"0644\"\ntoken: {s['k3s_token']}\n"
                                        f"agent-token: {s['agent_token']}\npause-image: rancher/mirrored-pause:3.6\n"),
        "etc/rancher/k3s/registries.yaml": (
            "mirrors:\n  docker.io:\n    endpoint:\n      - \"https://mirror.example.internal:5000\"\n"
            "configs:\n  \"mirror.example.internal:5000\":\n    auth:\n      username: board\n"
            f"      password: {s['registry_password']}\n      auth: {s['registry_auth']}\n"
            f"      identity_token: {s['identity_token']}\n    tls:\n      insecure_skip_verify: true\n"),
        "var/lib/rancher/k3s/agent/containerd/containerd.log": (FIX / "mirror-https" / "containerd.log").read_text(),
        "var/log/k3s.log": ((FIX / dump / "journal.log").read_text()
                            + f"Nov 20 08:00:00 lpi4a k3s[812]: time=\"x\" level=info msg=\"Running kubelet "
                            f"--token {s['k3s_token']}\"\n"
                            f"Nov 20 08:00:01 lpi4a k3s[812]: client-key-data: {s['client_key']}\n"
                            f"Nov 20 08:00:02 lpi4a k3s[812]: Authorization: Bearer {s['bearer']}\n"),
        "var/lib/rancher/k3s/server/manifests/coredns.yaml": "# packaged\n",
        "var/lib/rancher/k3s/server/manifests/local-storage.yaml": "# packaged\n",
        "var/lib/rancher/k3s/agent/images/archport.tar": "",
        "proc/cpuinfo": "processor\t: 0\nhart\t\t: 0\nisa\t\t: rv64imafdcv\nmmu\t\t: sv39\n",
        "proc/modules": "vxlan 69632 0 - Live 0x0000000000000000\nip6_udp_tunnel 16384 1 vxlan, Live 0x0\n",
        "proc/sys/net/ipv4/ip_forward": "1\n",
        "sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
        "sys/fs/cgroup/system.slice/cpu.weight": "100\n",
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    os.chmod(root, 0o755)
    return root
