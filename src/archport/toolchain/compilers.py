"""C cross compilers for the ``c`` strategy: find one for a target, run it.

Preferred: zig's clang driver from the ``ziglang`` Python package
(``python -m ziglang cc -target riscv64-linux-musl``): one pip install gives
every target and a musl libc to link statically against.  Else a GCC cross
toolchain on PATH (Debian's ``gcc-riscv64-linux-gnu``), linked ``-static``
against glibc — fine for programs that use no NSS (pause).
"""

from __future__ import annotations

import importlib.util
import os.path
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from ..errors import NotPortable

# GOARCH -> (zig target, GNU triple).  Toolchain naming, not component facts.
TARGETS = {
    "riscv64": ("riscv64-linux-musl", "riscv64-linux-gnu"),
    "amd64": ("x86_64-linux-musl", "x86_64-linux-gnu"),
    "arm64": ("aarch64-linux-musl", "aarch64-linux-gnu"),
    "arm": ("arm-linux-musleabihf", "arm-linux-gnueabihf"),
    "386": ("x86-linux-musl", "i686-linux-gnu"),
    "ppc64le": ("powerpc64le-linux-musl", "powerpc64le-linux-gnu"),
    "s390x": ("s390x-linux-musl", "s390x-linux-gnu"),
    "loong64": ("loongarch64-linux-musl", "loongarch64-linux-gnu"),
}
INSTALL_HINT = "install archport[build] (pip install 'archport[build]'), or apt-get install gcc-{triple}"


@dataclass(frozen=True, slots=True)
class Compiler:
    kind: str                    # "zig" | "gcc"
    argv: tuple[str, ...]        # the driver with its target flags
    description: str

    def identity(self, env: Mapping[str, str]) -> str:
        """The first line of ``--version`` (part of a build's inputs)."""
        try:
            r = subprocess.run([*self.argv, "--version"], capture_output=True, text=True, env=dict(env), timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise NotPortable(f"{self.description} could not run: {e}") from None
        return next((ln.strip() for ln in r.stdout.splitlines() if ln.strip()), self.description)

    def compile(self, sources: Sequence[Path], out: Path, cflags: Sequence[str], env: Mapping[str, str]) -> str:
        """Compile and link ``sources`` into ``out``; returns the compiler's
        messages.  ``env`` is the compiler's whole environment (the caller's:
        PATH, HOME for zig's cache).  A failure raises :class:`NotPortable`
        with its output."""
        flags = list(cflags)
        if "-static" not in flags:
            flags.append("-static")
        # Relative source names from their own directory: the path the
        # compiler records (symbol table, assertions) must not depend on the
        # work directory, or the same inputs give a different digest.
        cwd = sources[0].parent if sources else Path(".")
        cmd = [*self.argv, *flags, "-o", str(Path(out).resolve()),
               *(os.path.relpath(p, cwd) for p in sources)]
        env = dict(env)
        # zig keeps the musl objects it compiles (about a minute, once) in its
        # own global cache, shared by every run: not redirected on purpose.
        env["SOURCE_DATE_EPOCH"] = env.get("SOURCE_DATE_EPOCH", "0")
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=cwd)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise NotPortable(f"{self.description} could not run: {e}") from None
        if r.returncode != 0:
            tail = "\n".join((r.stderr or r.stdout).strip().splitlines()[-15:])
            raise NotPortable(f"{self.description} failed (exit {r.returncode}):\n{tail}",
                              "check the C flags in the catalog, or try the other compiler")
        return (r.stderr or "").strip()


def find(goarch: str, prefer: str = "zig") -> Compiler | None:
    """A compiler for linux/``goarch``, or None."""
    pair = TARGETS.get(goarch)
    if pair is None:
        return None
    zig_target, triple = pair
    found = []
    if importlib.util.find_spec("ziglang") is not None:
        found.append(Compiler("zig", (sys.executable, "-m", "ziglang", "cc", "-target", zig_target),
                              f"zig cc -target {zig_target}"))
    gcc = shutil.which(f"{triple}-gcc")
    if gcc:
        found.append(Compiler("gcc", (gcc,), f"{triple}-gcc"))
    found.sort(key=lambda c: c.kind != prefer)
    return found[0] if found else None


def install_hint(goarch: str) -> str:
    triple = TARGETS.get(goarch, ("", goarch + "-linux-gnu"))[1]
    return INSTALL_HINT.format(triple=triple)
