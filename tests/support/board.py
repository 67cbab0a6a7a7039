"""The one stand-in k3s board for doctor, audit and deploy's tests.

``k3s`` cannot run here, so a board is a directory (its ``/etc/rancher/k3s``,
``/var/lib/rancher`` and ``/proc`` files live under it: the commands'
``--root``) and *stand-in* programs, the only doubles, put first on the PATH
of a local shell or of every session of a real sshd:

* ``k3s``       — for what doctor reads, prints a fixture dump's recorded
  output (``kubectl get pods,events,nodes``, ``crictl pods``/``images``,
  ``--version``); on a board with a state directory (deploy's), ``--version``
  prints the state's version and ``k3s kubectl`` runs the stand-in kubectl;
* ``systemctl`` — ``restart k3s`` is k3s starting: it fails, like a k3s that
  cannot start, when ``registries.yaml`` contains a string the test named
  (``break_on``); ``is-active`` says whether it runs;
* ``kubectl``   — ``get nodes`` reports the node Ready (or NotReady when
  ``registries.yaml`` contains ``not_ready_on``), ``get pods`` prints the
  test's pods, ``delete pod`` records the names.

Every restart is counted in ``state/restarts``.  Everything else (cat, tail,
grep, ls, date, uname, iptables, cp, mv, sha256sum, base64, mkdir) is the
real thing, over real ssh where the test uses ssh.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from tests.support import sshd

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"

# Secrets planted on doctor's board; none of them may survive in a dump.
SECRETS = {
    "registry_password": "s3cr3t-Registry-Pa55",
    "registry_auth": "Ym9hcmQ6czNjcjN0LVJlZ2lzdHJ5LVBhNTU=",
    "identity_token": "idt-9f8e7d6c5b4a39281706",
    "k3s_token": "K1075a3e1b5c9d2f4e6a8b0c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5::server:ab12cd34ef56ab78",
    "agent_token": "agent-Tok3n-0f1e2d3c4b5a",
    "client_key": "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUZha2VLZXk=",
    "bearer": "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl",
}

K3S = """#!/bin/sh
# Stand-in for k3s: a fixture dump's recorded output, or the board's state.
D={dump}
STATE={state}
case "$*" in
  --version)
    if [ -f "$STATE/version" ]; then
      printf 'k3s version %s (0000000)\\ngo version go1.18.1\\n' "$(cat "$STATE/version")"
    else cat "$D/k3s-version.txt"; fi ;;
  "kubectl get pods,events,nodes -A -o json") cat "$D/kubectl.json" ;;
  "crictl pods -o json") cat "$D/crictl-pods.json" ;;
  "crictl images -o json") cat "$D/crictl-images.json" ;;
  kubectl\\ *) [ -d "$STATE" ] || {{ echo "stand-in k3s: no kubectl on this board" >&2; exit 1; }}
    shift; exec "$(dirname "$0")/kubectl" "$@" ;;
  *) echo "stand-in k3s: unexpected arguments: $*" >&2; exit 1 ;;
esac
"""

SYSTEMCTL = """#!/bin/sh
# Stand-in for systemctl: a restart is k3s starting, which
# fails when registries.yaml holds a string the test says breaks it.
STATE={state}
REG={root}/etc/rancher/k3s/registries.yaml
case "$1" in
  restart)
    echo "$2" >> "$STATE/restarts"
    rm -f "$STATE/running"
    # hold_restart(): a restart that takes until the test lets it go (at most 60 s)
    i=0; while [ -f "$STATE/hold-restart" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
    if [ -s "$STATE/break-on" ] && grep -qF -f "$STATE/break-on" "$REG" 2>/dev/null; then
      mkdir -p {root}/var/log
      echo 'time="2026-11-27T05:00:00Z" level=fatal msg="failed to start containerd: registries.yaml: stand-in says no"' \\
        >> {root}/var/log/k3s.log
      echo "Job for $2.service failed because the control process exited with error code." >&2
      exit 1
    fi
    touch "$STATE/running" ;;
  is-active) [ -f "$STATE/running" ] ;;
  *) echo "stand-in systemctl: unexpected arguments: $*" >&2; exit 1 ;;
esac
"""

KUBECTL = """#!/bin/sh
# Stand-in for kubectl: the node, the kube-system pods, deletions.
STATE={state}
REG={root}/etc/rancher/k3s/registries.yaml
case "$*" in
  "get nodes -o json")
    [ -f "$STATE/running" ] || {{ echo "The connection to the server 127.0.0.1:6443 was refused" >&2; exit 1; }}
    READY=True
    if [ -s "$STATE/not-ready-on" ] && grep -qF -f "$STATE/not-ready-on" "$REG" 2>/dev/null; then READY=False; fi
    printf '{{"items":[{{"metadata":{{"name":"%s"}},"status":{{"conditions":[{{"type":"Ready","status":"%s"}}]}}}}]}}\\n' \\
      "$(hostname)" "$READY" ;;
  "get pods -n kube-system -o json") cat "$STATE/pods.json" ;;
  "delete pod -n kube-system --wait=false "*) shift 5; for p in "$@"; do echo "$p" >> "$STATE/deleted"; done ;;
  *) echo "stand-in kubectl: unexpected arguments: $*" >&2; exit 1 ;;
esac
"""


def install_standin(bin_dir: Path, dump: str = "broken-riscv64", state: Path | None = None) -> Path:
    """The stand-in ``k3s`` answering from fixture dump ``dump`` (and ``state``, a deploy board's)."""
    p = bin_dir / "k3s"
    p.write_text(K3S.format(dump=FIX / dump, state=state or bin_dir / "no-state"))
    p.chmod(0o755)
    return p


# -- doctor's and audit's board: a broken riscv64 node with planted secrets -----

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
    _write(root, files)
    os.chmod(root, 0o755)
    return root


# -- deploy's board: k3s that restarts, over its own sshd ------------------------

CONFIG = "write-kubeconfig-mode: \"0644\"\ntoken: K10-standin-token::server:0123456789abcdef\n"


def pod(name: str, image: str, waiting: str | None = None) -> dict:
    status = {"containerStatuses": [{"name": name, "state": {"waiting": {"reason": waiting}} if waiting
                                     else {"running": {}}}]}
    return {"metadata": {"namespace": "kube-system", "name": name},
            "spec": {"containers": [{"name": name, "image": image}]}, "status": status}


PODS = [pod("coredns-b96499967-x2x8b", "rancher/mirrored-coredns-coredns:1.9.1", "ImagePullBackOff"),
        pod("metrics-server-668d979685-9szb9", "rancher/mirrored-metrics-server:v0.5.2", "ErrImagePull"),
        pod("local-path-provisioner-7b7dc8d6f5-5xq2w", "rancher/local-path-provisioner:v0.0.21"),
        pod("svclb-traefik-7x9q2", "rancher/klipper-lb:v0.3.5", "ContainerCreating")]


@dataclass
class Board:
    root: Path
    state: Path
    server: sshd.SSHServer
    given_registries: str | None = None     # what reset() wrote, to tell deploy's own output from it

    @property
    def host(self) -> str:
        return f"{self.server.user}@127.0.0.1:{self.server.port}"

    def ssh_args(self, host: bool = True, key: bool = True) -> list[str]:
        """Host key checking stays on: the board's host key is pinned in known_hosts."""
        args = (["--host", self.host] if host else []) + ["--root", str(self.root)]
        for o in (f"UserKnownHostsFile={self.server.dir / 'pinned_known_hosts'}", "IdentitiesOnly=yes",
                  "LogLevel=ERROR") + ((f"IdentityFile={self.server.key}",) if key else ()):
            args += ["-o", o]
        return args

    def reset(self, version: str = "v1.24.2+k3s1", registries: str | None = None, pods=PODS,
              role: str = "server") -> None:
        for p in sorted(self.root.rglob("*"), reverse=True):
            p.unlink() if p.is_file() or p.is_symlink() else p.rmdir()
        for p in self.state.iterdir():
            p.unlink()
        (self.state / "version").write_text(version)
        (self.state / "running").touch()
        (self.state / "pods.json").write_text(json.dumps({"items": pods}))
        files = {"etc/rancher/k3s/config.yaml": CONFIG,
                 f"etc/systemd/system/{'k3s-agent' if role == 'agent' else 'k3s'}.service":
                     f"[Service]\nExecStart=/usr/local/bin/k3s {role}\n",
                 "var/lib/rancher/k3s/server/manifests/coredns.yaml": "# packaged by k3s\n"}
        if registries is not None:
            files["etc/rancher/k3s/registries.yaml"] = registries
        self.given_registries = registries
        _write(self.root, files)

    def snapshot(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.root)): p.read_bytes() for p in sorted(self.root.rglob("*")) if p.is_file()}

    def restarts(self) -> int:
        return len(self.restarted())

    def restarted(self) -> list[str]:
        """The services restarted, in order."""
        p = self.state / "restarts"
        return p.read_text().split() if p.exists() else []

    def break_on(self, text: str) -> None:
        (self.state / "break-on").write_text(text + "\n")

    def hold_restart(self, hold: bool = True) -> None:
        """Each restart waits while held (deploy's interruption tests)."""
        p = self.state / "hold-restart"
        p.touch() if hold else p.unlink(missing_ok=True)

    def not_ready_on(self, text: str) -> None:
        (self.state / "not-ready-on").write_text(text + "\n")


def make(tmp: Path) -> Board:
    """A deploy board behind its own sshd, its host key pinned."""
    server = sshd.start(tmp / "sshd")
    host_key = (server.dir / "host_ed25519.pub").read_text().split()
    (server.dir / "pinned_known_hosts").write_text(f"[127.0.0.1]:{server.port} {host_key[0]} {host_key[1]}\n")
    root, state = tmp / "board", tmp / "state"
    root.mkdir()
    state.mkdir()
    os.chmod(tmp, 0o755)
    install_standin(server.bin_dir, state=state)
    for name, text in (("systemctl", SYSTEMCTL), ("kubectl", KUBECTL)):
        p = server.bin_dir / name
        p.write_text(text.format(state=state, root=root))
        p.chmod(0o755)
    board = Board(root, state, server)
    board.reset()
    return board


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
