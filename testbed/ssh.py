"""The board's SSH door: OpenSSH's sshd inside the board's namespaces, so a
login as ``root@127.0.0.1 -p PORT`` lands on the board (its /etc/rancher/k3s,
its /var/lib/rancher/k3s, its network) and finds k3s's commands on PATH.

Keys are throwaway ed25519 keys made by ssh-keygen under ``BED/ssh``: a host
key pinned in a known_hosts file and one user key authorized for root (the
approach of tests/support/sshd.py).  sshd's ``SetEnv PATH=`` puts the board's
command directory first: ``k3s`` (the stand-in), ``kubectl``, ``crictl`` and
``ctr`` (the bed's real binaries, pointed at the board's kubeconfig and
containerd socket, as k3s's multi-call binary does), ``systemctl`` and
``journalctl`` (serving the k3s unit only), and ``uname`` (a riscv64 program
run under qemu-user, like every program the board's kubelet starts).
Every other command doctor runs over SSH (cat, ls, tail, grep, date,
iptables) is the machine's own and reads the board's files.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from testbed import config, paths

SSHD = "/usr/sbin/sshd"
REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Door:
    dir: Path

    @property
    def host_key(self) -> Path: return self.dir / "host_ed25519"
    @property
    def key(self) -> Path: return self.dir / "id_ed25519"
    @property
    def authorized_keys(self) -> Path: return self.dir / "authorized_keys"
    @property
    def known_hosts(self) -> Path: return self.dir / "known_hosts"
    @property
    def config(self) -> Path: return self.dir / "sshd_config"
    @property
    def bin(self) -> Path: return self.dir / "bin"
    @property
    def port(self) -> int: return paths.PORTS.ssh


def door(lay: paths.Layout) -> Door:
    return Door(lay.root / "ssh")


def sshd_config(d: Door) -> str:
    """Key auth for root only, loopback only, PATH with the board's commands first.
    No pid file: the bed's supervisor tracks sshd (-D keeps it in the foreground)."""
    return (f"Port {d.port}\nListenAddress 127.0.0.1\nHostKey {d.host_key}\nPidFile none\n"
            f"AuthorizedKeysFile {d.authorized_keys}\nStrictModes no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\n"
            f"SetEnv PATH={d.bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "
            f"ARCHPORT_TESTBED_DIR={d.dir.parent} QEMU_CPU={config.board_cpu().model}\n"
            "Subsystem sftp internal-sftp\nLogLevel INFO\n")


def shims(d: Door, python: str = sys.executable) -> dict[str, str]:
    """name -> script text of the board's commands (pure)."""
    head = f"#!/bin/sh\nexport PYTHONPATH={shlex.quote(str(REPO))}\n"
    run = f"exec {shlex.quote(python)} -m testbed.k3s"
    out = {
        "k3s": f'{head}{run} k3s "$@"\n',
        "kubectl": f'{head}{run} k3s kubectl "$@"\n',
        "crictl": f'{head}{run} k3s crictl "$@"\n',
        "ctr": f'{head}{run} k3s ctr "$@"\n',
        "systemctl": f'{head}{run} systemctl "$@"\n',
        "journalctl": f'{head}{run} journalctl "$@"\n',
    }
    uname = d.bin / "uname-riscv64"
    out["uname"] = (f'#!/bin/sh\nif [ -x {uname} ]; then exec {uname} "$@"; fi\n'
                    'exec /bin/uname "$@"\n')
    return out


_UNAME = """package main

// archport test bed: uname for the riscv64 board.  Runs under qemu-user, so
// the kernel's answer is what a riscv64 process sees (machine "riscv64").
import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// Utsname's fields are [65]int8 on amd64 and [65]uint8 on riscv64.
func s[T int8 | uint8](b [65]T) string {
	var out []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

func main() {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		os.Exit(1)
	}
	f := map[string]string{"-s": s(u.Sysname), "-n": s(u.Nodename), "-r": s(u.Release), "-v": s(u.Version),
		"-m": s(u.Machine), "-p": s(u.Machine), "-i": s(u.Machine), "-o": "GNU/Linux"}
	args := os.Args[1:]
	if len(args) == 0 {
		args = []string{"-s"}
	}
	if len(args) == 1 && args[0] == "-a" {
		args = []string{"-s", "-n", "-r", "-v", "-m", "-o"}
	}
	var parts []string
	for _, a := range args {
		v, ok := f[a]
		if !ok {
			fmt.Fprintf(os.Stderr, "uname: invalid option %s\\n", a)
			os.Exit(1)
		}
		parts = append(parts, v)
	}
	fmt.Println(strings.Join(parts, " "))
}
"""


def _build_uname(out: Path) -> None:
    cache = paths.component_dir("board-uname", "r1") / "uname"
    if not cache.exists():
        go = shutil.which("go") or "/usr/local/go/bin/go"
        src = cache.parent / "src"
        src.mkdir(parents=True, exist_ok=True)
        (src / "go.mod").write_text("module archport.test/bed/uname\n\ngo 1.20\n")
        (src / "main.go").write_text(_UNAME)
        env = {"PATH": "/usr/local/go/bin:/usr/bin:/bin", "HOME": "/root", "GOOS": "linux", "GOARCH": "riscv64",
               "CGO_ENABLED": "0", "GOPROXY": "off", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
        subprocess.run([go, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", str(cache), "."],
                       cwd=src, env=env, check=True, capture_output=True, timeout=600)
    shutil.copy(cache, out)
    out.chmod(0o755)


def prepare(lay: paths.Layout) -> Door:
    """Keys, known_hosts, sshd_config and the command directory (idempotent)."""
    d = door(lay)
    d.dir.mkdir(parents=True, exist_ok=True)
    d.dir.chmod(0o700)
    for k in (d.host_key, d.key):
        if not k.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "archport-testbed", "-f", str(k)],
                           check=True)
    d.authorized_keys.write_text(d.key.with_suffix(".pub").read_text())
    d.authorized_keys.chmod(0o600)
    algo, blob = d.host_key.with_suffix(".pub").read_text().split()[:2]
    d.known_hosts.write_text(f"[127.0.0.1]:{d.port} {algo} {blob}\n")
    d.config.write_text(sshd_config(d))
    d.bin.mkdir(exist_ok=True)
    for name, text in shims(d).items():
        p = d.bin / name
        p.write_text(text)
        p.chmod(0o755)
    if not (d.bin / "uname-riscv64").exists():
        _build_uname(d.bin / "uname-riscv64")
    return d


def up(lay: paths.Layout) -> Door:
    """Start sshd inside the board and forward its port to the host (idempotent)."""
    from testbed import node, supervise
    d = prepare(lay)
    if not supervise.alive(lay, "sshd"):
        # The board's /run is a private tmpfs: sshd's privilege-separation dir goes there.
        node.board_exec(["mkdir", "-p", "/run/sshd"], root=lay.root, check=True)
        node.start_service("sshd", [SSHD, "-D", "-e", "-f", str(d.config)], root=lay.root, board=True)
    node.forward_board_port(d.port, root=lay.root)
    return d


def env(lay: paths.Layout) -> dict[str, str]:
    """The assignments `scripts/testbed.sh env` prints for the board's door."""
    d = door(lay)
    return {"BOARD_SSH": f"root@127.0.0.1:{d.port}", "BOARD_SSH_KEY": str(d.key),
            "BOARD_KNOWN_HOSTS": str(d.known_hosts), "KUBECONFIG": str(lay.kubeconfig)}


def options(lay: paths.Layout) -> list[str]:
    """ssh -o options for a client (what doctor's -i/-p/-o take)."""
    d = door(lay)
    return [f"UserKnownHostsFile={d.known_hosts}", "StrictHostKeyChecking=yes", f"IdentityFile={d.key}",
            "IdentitiesOnly=yes", f"Port={d.port}"]
