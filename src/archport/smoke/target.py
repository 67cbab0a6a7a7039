"""What ``argv[0]`` is, before anything runs: the architecture guard.

A binary the host can run natively would *pass* a smoke run on the host and
still fail on the board with ``exec format error``; a missing program fails
on the board at create time.  Both are decided here from the image's merged
view (:mod:`archport.imagefs`), the way runc finds the program
(``exec.LookPath``) and the kernel looks at its first bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..binaries.elf import identify, is_elf
from ..imagefs import FILE, PathError, RootFS, look_path


@dataclass(frozen=True, slots=True)
class Target:
    """What ``argv[0]`` resolves to inside the root."""

    name: str          # as given
    path: str | None   # absolute path inside the image, None if not found
    machine: str = ""  # GOARCH of an ELF; "script" for #!; "" otherwise/unknown


@dataclass(frozen=True, slots=True)
class Program:
    """The process a runner starts, as the kubelet would start the container:
    Entrypoint + (args or Cmd), the image's Env under the pod's, the working
    directory, and the recipe's read-only files and empty writable directories."""

    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    workdir: str = "/"
    files: tuple[tuple[str, str], ...] = ()    # path in the container -> text
    writable: tuple[str, ...] = ()


def machine_of(head: bytes) -> str:
    if head[:2] == b"#!":
        return "script"
    if not is_elf(head):
        return ""
    hdr = identify(head)
    return hdr.describe() if hdr is not None else ""


def find_exec(fs: RootFS, argv0: str, env_path: str, workdir: str = "/") -> Target:
    """Resolve ``argv0`` as runc does (Go's ``exec.LookPath`` over PATH, a
    relative PATH entry refused), following symlinks inside the root."""
    cwd = workdir or "/"
    found = look_path(fs, argv0, env_path, cwd)
    if found.path is None or found.relative:
        return Target(argv0, None)
    try:
        r = fs.resolve(found.path, cwd)
    except PathError:
        return Target(argv0, None)
    if r.node.kind != FILE:
        return Target(argv0, None)
    return Target(argv0, r.path, machine_of(r.node.head))
