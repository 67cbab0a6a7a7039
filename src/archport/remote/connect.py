"""Connectors: where commands run.  Three primitives, as in pyinfra: run, put, get.

* :class:`Connector` — what every connector offers (a protocol).
* :class:`Local` — ``sh -c`` on this machine.
* :class:`SSH`   — the system OpenSSH client, so ``~/.ssh/config`` (aliases,
  ``ProxyJump``, agents, ``IdentityFile``) works exactly as in the user's shell.
  ``BatchMode=yes`` makes a missing key fail at once instead of prompting.

``put`` writes beside the target and renames (rename(2) is atomic within a
file system), under ``umask 077`` so a secret is never readable by others,
not even for the moment before its ``chmod``.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from ..errors import ArchportError, BadInput


class Unreachable(ArchportError):
    """The host could not be reached or refused us (ssh exit status 255).
    The operation failed (exit 1): the address may be right and the board
    merely down, so this is not bad input."""


@dataclass(frozen=True, slots=True)
class Result:
    stdout: str
    stderr: str = ""
    rc: int = 0


class Connector(Protocol):
    """A place where commands run and files are read and written.

    ``name`` says which host it reaches (``local``, ``ssh:user@host``), for
    messages.  ``run`` returns the command's own exit status; only a failure
    to reach the host raises (:class:`Unreachable`).  ``put`` and
    ``put_file`` replace ``path`` atomically, never leaving half a file;
    a connector that cannot write raises :class:`BadInput`.
    """

    name: str

    def run(self, command: str, timeout: float = 120) -> Result: ...

    def get(self, path: str) -> bytes: ...

    def put(self, data: bytes, path: str, mode: int = 0o644) -> None: ...

    def put_file(self, local: str | Path, path: str, mode: int = 0o644) -> None: ...


def _atomic_write_command(path: str, mode: int) -> str:
    q = shlex.quote(path)
    tmp = shlex.quote(path + ".archport-tmp")
    return f"umask 077 && cat > {tmp} && chmod {mode:o} {tmp} && mv -f {tmp} {q}"


class Local:
    name = "local"

    def run(self, command: str, timeout: float = 120) -> Result:
        try:
            p = subprocess.run(["sh", "-c", command], capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Result("", f"timed out after {timeout:g}s", 124)
        return Result(p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"), p.returncode)

    def put(self, data: bytes, path: str, mode: int = 0o644) -> None:
        p = Path(path)
        tmp = p.with_name(p.name + ".archport-tmp")
        tmp.touch(mode=0o600)
        tmp.chmod(0o600)
        tmp.write_bytes(data)
        tmp.chmod(mode)
        tmp.replace(p)

    def put_file(self, local: str | Path, path: str, mode: int = 0o644) -> None:
        self.put(Path(local).read_bytes(), path, mode)

    def get(self, path: str) -> bytes:
        return Path(path).read_bytes()


@dataclass
class SSH:
    """``ssh [-F config] [-o opt]… [-p port] [-i key] destination -- command``."""

    destination: str
    options: tuple[str, ...] = ()
    config: str | None = None
    port: int | None = None
    identity: str | None = None
    ssh: str = "ssh"
    name: str = field(init=False)

    def __post_init__(self) -> None:
        if not self.destination or self.destination.startswith("-"):
            raise BadInput(f"invalid SSH destination {self.destination!r}")
        self.name = f"ssh:{self.destination}"

    def argv(self, command: str) -> list[str]:
        argv = [self.ssh, "-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]
        if self.config:
            argv += ["-F", self.config]
        for opt in self.options:
            argv += ["-o", opt]
        if self.port:
            argv += ["-p", str(self.port)]
        if self.identity:
            argv += ["-i", self.identity]
        # The remote side hands the string to the user's login shell; wrap it
        # in sh -c so the commands do not depend on that shell being POSIX.
        return argv + [self.destination, "--", "sh -c " + shlex.quote(command)]

    def _call(self, command: str, stdin: bytes | BinaryIO | None, timeout: float) -> subprocess.CompletedProcess:
        try:
            if stdin is None or isinstance(stdin, bytes):
                p = subprocess.run(self.argv(command), input=stdin, capture_output=True, timeout=timeout)
            else:
                p = subprocess.run(self.argv(command), stdin=stdin, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Unreachable(f"{self.destination}: no answer within {timeout:g}s") from None
        except FileNotFoundError:
            raise BadInput(f"the ssh client {self.ssh!r} is not installed") from None
        if p.returncode == 255:
            lines = [x for x in p.stderr.decode(errors="replace").splitlines() if x.strip()
                     and not x.startswith("Warning: Permanently added")]
            raise Unreachable(f"cannot connect to {self.destination}: {lines[-1] if lines else 'ssh failed'}")
        return p

    def run(self, command: str, timeout: float = 120) -> Result:
        p = self._call(command, None, timeout)
        return Result(p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"), p.returncode)

    def put(self, data: bytes, path: str, mode: int = 0o644) -> None:
        p = self._call(_atomic_write_command(path, mode), data, 300)
        if p.returncode != 0:
            raise BadInput(f"{self.destination}: cannot write {path}: {p.stderr.decode(errors='replace').strip()}")

    def put_file(self, local: str | Path, path: str, mode: int = 0o644, timeout: float = 3600) -> None:
        """Stream a local file (an airgap tarball can be gigabytes) to ``path``."""
        with open(local, "rb") as f:
            p = self._call(_atomic_write_command(path, mode), f, timeout)
        if p.returncode != 0:
            raise BadInput(f"{self.destination}: cannot write {path}: {p.stderr.decode(errors='replace').strip()}")

    def get(self, path: str) -> bytes:
        p = self._call(f"cat {shlex.quote(path)}", None, 300)
        if p.returncode != 0:
            raise BadInput(f"{self.destination}: cannot read {path}: {p.stderr.decode(errors='replace').strip()}")
        return p.stdout
