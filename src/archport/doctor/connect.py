"""Connectors: where commands run.  Three primitives, as in pyinfra: run, put, get.

* :class:`Local`  — ``sh -c`` on this machine.
* :class:`SSH`    — the system OpenSSH client, so ``~/.ssh/config`` (aliases,
  ``ProxyJump``, agents, ``IdentityFile``) works exactly as in the user's shell.
  ``BatchMode=yes`` makes a missing key fail at once instead of prompting.
* :class:`Dump`   — a directory written by ``archport collect``: ``run`` answers
  a fact's command from the file that holds its output.

ssh exits 255 when the connection itself fails (ssh(1), EXIT STATUS); that is
reported as :class:`Unreachable` (bad input: exit 2), the remote command's own
exit status is returned as is.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInput
from . import facts as _facts


class Unreachable(BadInput):
    """The host could not be reached or refused us (ssh exit status 255)."""


@dataclass(frozen=True, slots=True)
class Result:
    stdout: str
    stderr: str = ""
    rc: int = 0


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
        tmp.write_bytes(data)
        tmp.chmod(mode)
        tmp.replace(p)

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

    def _call(self, command: str, stdin: bytes | None, timeout: float) -> subprocess.CompletedProcess:
        try:
            p = subprocess.run(self.argv(command), input=stdin, capture_output=True, timeout=timeout)
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
        q = shlex.quote(path)
        tmp = shlex.quote(path + ".archport-tmp")
        p = self._call(f"cat > {tmp} && chmod {mode:o} {tmp} && mv -f {tmp} {q}", data, 300)
        if p.returncode != 0:
            raise BadInput(f"{self.destination}: cannot write {path}: {p.stderr.decode(errors='replace').strip()}")

    def get(self, path: str) -> bytes:
        p = self._call(f"cat {shlex.quote(path)}", None, 300)
        if p.returncode != 0:
            raise BadInput(f"{self.destination}: cannot read {path}: {p.stderr.decode(errors='replace').strip()}")
        return p.stdout


class Dump:
    """A saved dump directory: each fact's command is answered from its file."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        if not self.dir.is_dir():
            raise BadInput(f"{directory}: not a dump directory")
        self.name = f"dump:{self.dir}"

    def run_fact(self, fact: _facts.Fact) -> Result:
        p = self.dir / fact.file
        if not p.is_file():
            return Result("", f"{fact.file} not in dump", 127)
        rc_file = self.dir / (fact.file + ".rc")
        rc = int(rc_file.read_text().strip() or 0) if rc_file.is_file() else 0
        return Result(p.read_text(errors="replace"), "", rc)

    def run(self, command: str, timeout: float = 0) -> Result:
        for f in _facts.FACTS:
            if command in (f.name, f.render()):
                return self.run_fact(f)
        return Result("", f"{command!r}: not recorded in the dump", 127)

    def put(self, data: bytes, path: str, mode: int = 0o644) -> None:
        raise BadInput("a saved dump is read-only")

    def get(self, path: str) -> bytes:
        p = (self.dir / path.lstrip("/")).resolve()
        if self.dir.resolve() not in p.parents:
            raise BadInput(f"{path}: outside the dump")
        return p.read_bytes()
