"""A stand-in k3s board for deploy's tests, reached through a real sshd.

The board is a directory (its ``/etc/rancher/k3s`` and ``/var/lib/rancher``
live under it: deploy's ``--root``) and three *stand-in* programs, the only
doubles here, put first on the PATH of every ssh session:

* ``k3s``       — ``--version`` prints the board's version; ``k3s kubectl``
  runs the stand-in kubectl;
* ``systemctl`` — ``restart k3s`` is k3s starting: it fails, like a k3s that
  cannot start, when ``registries.yaml`` contains a string the test named
  (``break_on``); ``is-active`` says whether it runs;
* ``kubectl``   — ``get nodes`` reports the node Ready (or NotReady when
  ``registries.yaml`` contains ``not_ready_on``), ``get pods`` prints the
  test's pods, ``delete pod`` records the names.

Every restart is counted in ``state/restarts``.  Everything else (cat, cp,
mv, sha256sum, base64, mkdir) is the real thing, over real ssh.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from tests.support import sshd

K3S = """#!/bin/sh
# Stand-in for k3s (deploy tests): its version, and kubectl.
STATE={state}
case "$1" in
  --version) printf 'k3s version %s (0000000)\\ngo version go1.18.1\\n' "$(cat "$STATE/version")" ;;
  kubectl) shift; exec "$(dirname "$0")/kubectl" "$@" ;;
  *) echo "stand-in k3s: unexpected arguments: $*" >&2; exit 1 ;;
esac
"""

SYSTEMCTL = """#!/bin/sh
# Stand-in for systemctl (deploy tests): a restart is k3s starting, which
# fails when registries.yaml holds a string the test says breaks it.
STATE={state}
REG={root}/etc/rancher/k3s/registries.yaml
case "$1" in
  restart)
    echo "$2" >> "$STATE/restarts"
    rm -f "$STATE/running"
    if [ -s "$STATE/break-on" ] && grep -qF -f "$STATE/break-on" "$REG" 2>/dev/null; then
      mkdir -p {root}/var/log
      echo 'time="2026-11-27T05:00:00Z" level=fatal msg="failed to start containerd: registries.yaml: stand-in says no"' \
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
# Stand-in for kubectl (deploy tests): the node, the kube-system pods, deletions.
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
        for rel, text in files.items():
            p = self.root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)

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

    def not_ready_on(self, text: str) -> None:
        (self.state / "not-ready-on").write_text(text + "\n")


def make(tmp: Path) -> Board:
    server = sshd.start(tmp / "sshd")
    host_key = (server.dir / "host_ed25519.pub").read_text().split()
    (server.dir / "pinned_known_hosts").write_text(f"[127.0.0.1]:{server.port} {host_key[0]} {host_key[1]}\n")
    root, state = tmp / "board", tmp / "state"
    root.mkdir()
    state.mkdir()
    os.chmod(tmp, 0o755)
    for name, text in (("k3s", K3S), ("systemctl", SYSTEMCTL), ("kubectl", KUBECTL)):
        p = server.bin_dir / name
        p.write_text(text.format(state=state, root=root))
        p.chmod(0o755)
    board = Board(root, state, server)
    board.reset()
    return board
