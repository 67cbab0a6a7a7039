"""A real OpenSSH server on 127.0.0.1 for tests, with throwaway keys.

``sshd_server`` (session fixture) starts ``/usr/sbin/sshd -D`` on a free
loopback port with a fresh ed25519 host key and a fresh user key authorized for
the current user (root in CI).  Its object gives ``.port``, ``.key`` (private
key path), ``.known_hosts``, ``.user``, ``.ssh_options()`` (the ``-o`` options a
client needs) and ``.bin_dir``: a directory put first on ``PATH`` for every
session (sshd_config ``SetEnv``), where a test can place stand-in programs.

Nothing else of the machine's ssh set-up is used or changed.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SSHServer:
    dir: Path
    port: int
    key: Path
    known_hosts: Path
    user: str
    bin_dir: Path
    proc: subprocess.Popen | None = None

    @property
    def destination(self) -> str:
        return f"{self.user}@127.0.0.1"

    def ssh_options(self) -> list[str]:
        return [f"UserKnownHostsFile={self.known_hosts}", "StrictHostKeyChecking=no", "LogLevel=ERROR",
                f"IdentityFile={self.key}", "IdentitiesOnly=yes", f"Port={self.port}"]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start(d: Path) -> SSHServer:
    if not os.path.exists(SSHD):
        raise RuntimeError(f"{SSHD} is not installed (Debian package openssh-server)")
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o755)
    host_key, user_key = d / "host_ed25519", d / "user_ed25519"
    for k in (host_key, user_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(k)], check=True)
    auth = d / "authorized_keys"
    shutil.copy(user_key.with_suffix(".pub"), auth)
    os.chmod(auth, 0o600)
    bin_dir = d / "bin"
    bin_dir.mkdir()
    os.chmod(bin_dir, 0o755)
    Path("/run/sshd").mkdir(exist_ok=True)   # privilege separation directory sshd insists on
    port = _free_port()
    conf = d / "sshd_config"
    conf.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {d / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {auth}\nStrictModes no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\n"
        f"SetEnv PATH={bin_dir}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin\n"
        "Subsystem sftp internal-sftp\nLogLevel ERROR\n")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=open(d / "sshd.log", "wb"))
    server = SSHServer(d, port, user_key, d / "known_hosts", getpass.getuser(), bin_dir, proc)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited: {(d / 'sshd.log').read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError("sshd did not start listening")


@pytest.fixture(scope="session")
def sshd_server(tmp_path_factory):
    server = start(tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        server.stop()
