"""What ``execve`` does with the file runc found: ELF, ``#!`` script, or neither.

The kernel (fs/binfmt_elf.c, fs/binfmt_script.c) refuses an ELF for another
machine with ENOEXEC, and a file that is neither ELF nor ``#!`` too (Go does
not fall back to ``/bin/sh`` the way a shell would).  A dynamic ELF needs its
PT_INTERP loader (ENOENT when missing, although the program itself exists);
the loader then needs every DT_NEEDED library, searched in ``LD_LIBRARY_PATH``,
``/etc/ld.so.conf`` directories and the default and multiarch directories.
RUNPATH is not read: a library missing from those directories but present
elsewhere in the image is a warning, not an error.  A ``#!`` interpreter is
resolved like the program (never through ``PATH``), and may itself be a
script, up to 5 levels (``exec_binprm``; ELOOP beyond).
"""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass

from ..binaries.elf import identify, is_elf, read_elf
from ..errors import BadInput
from ..imagefs import FILE, Node, PathError, RootFS, look_path as find_in_path
from ..platform import Platform
from . import findings as F
from .findings import ERROR, WARNING, Finding

MAX_SCRIPT_DEPTH = 5
MAX_LIBS = 256

# Debian multiarch tuples (dpkg-architecture -qDEB_HOST_MULTIARCH) per GOARCH.
MULTIARCH = {
    "amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "riscv64": "riscv64-linux-gnu",
    "arm": "arm-linux-gnueabihf", "386": "i386-linux-gnu", "ppc64le": "powerpc64le-linux-gnu",
    "s390x": "s390x-linux-gnu", "loong64": "loongarch64-linux-gnu", "mips64le": "mips64el-linux-gnuabi64",
}


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the resolution, for a person (``note``) and as typed
    fields (``kind`` and ``detail``: ``symlink`` → target; ``path-lookup`` →
    entry; ``elf`` → arch, linkage, interpreter; ``interpreter``;
    ``library`` → library; ``script`` → interpreter, argument; ``env-lookup``)."""

    path: str
    note: str
    kind: str = ""
    detail: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict:
        d = {"path": self.path, "kind": self.kind, "note": self.note}
        d.update(self.detail)
        return d


class Checker:
    def __init__(self, fs: RootFS, platform: Platform, cwd: str, path_env: str, env: dict[str, str]) -> None:
        self.fs = fs
        self.platform = platform
        self.cwd = cwd
        self.path_env = path_env
        self.env = env
        self.steps: list[Step] = []
        self.findings: list[Finding] = []

    def add(self, f: Finding) -> None:
        self.findings.append(f)

    # -- execve -------------------------------------------------------------

    def exec(self, path: str, top: str, depth: int = 0) -> None:
        """Check that ``execve(path)`` succeeds; ``top`` is what runc exec'd
        (the name every exec error carries, even for a nested interpreter)."""
        try:
            r = self.fs.resolve(path, self.cwd)
        except PathError as e:
            self.add(Finding(ERROR, "not-found", f"{path} cannot be resolved: {e.path}: {F.ERRNO_TEXT[e.errno]}",
                             path, runtime_error=F.exec_error(top, F.ERRNO_TEXT[e.errno]), effect=F.EXEC_FAILURE))
            return
        for link, target in r.links:
            self.steps.append(Step(link, f"symlink -> {target}", "symlink", (("target", target),)))
        for link in r.clamped:
            self.add(Finding(WARNING, "symlink-escapes", f"symlink {link} climbs above the image root; resolved inside it, as a chroot does", link))
        node = r.node
        if node.kind != FILE or not node.executable:
            what = "not a regular file" if node.kind != FILE else "not executable"
            self.add(Finding(ERROR, "not-executable", f"{r.path} is {what}", r.path,
                             runtime_error=F.exec_error(top, F.EACCES), effect=F.EXEC_FAILURE))
            return
        if is_elf(node.head):
            self._elf(r.path, node, top)
        elif node.head.startswith(b"#!"):
            self._script(r.path, node, top, depth)
        else:
            kind = "empty" if node.size == 0 else "neither an ELF binary nor a #! script"
            self.add(Finding(ERROR, "exec-format", f"{r.path} is {kind}", r.path,
                             runtime_error=F.exec_error(top, F.ENOEXEC), effect=F.EXEC_FAILURE))

    def _arch_ok(self, path: str, node: Node, top: str, role: str, errno_text: str) -> bool:
        hdr = identify(node.head)
        if hdr is None:
            self.add(Finding(ERROR, "malformed-elf", f"{role} {path} has a malformed ELF header", path,
                             runtime_error=F.exec_error(top, errno_text), effect=F.EXEC_FAILURE))
            return False
        if hdr.goarch != self.platform.architecture:
            self.add(Finding(ERROR, "wrong-arch",
                             f"{role} {path} is built for {hdr.describe()}; the image is for {self.platform}",
                             path, runtime_error=F.exec_error(top, errno_text), effect=F.EXEC_FAILURE))
            return False
        return True

    def _elf(self, path: str, node: Node, top: str) -> None:
        if not self._arch_ok(path, node, top, "program", F.ENOEXEC):
            return
        info = self._read(path, node, top)
        if info is None:
            return
        arch = self.platform.architecture
        if info.static:
            self.steps.append(Step(path, f"ELF {arch}, statically linked", "elf",
                                   (("arch", arch), ("linkage", "static"))))
            return
        self.steps.append(Step(path, f"ELF {arch}, dynamic, interpreter {info.interpreter or '(none)'}", "elf",
                               (("arch", arch), ("linkage", "dynamic"), ("interpreter", info.interpreter or ""))))
        if info.interpreter:
            try:
                ri = self.fs.resolve(info.interpreter, self.cwd)
            except PathError:
                self.add(Finding(ERROR, "missing-interpreter",
                                 f"{path} is dynamically linked and its ELF interpreter {info.interpreter} is not in the image "
                                 f"(the kernel reports the program itself as missing)", info.interpreter,
                                 runtime_error=F.exec_error(top, F.ENOENT), effect=F.EXEC_FAILURE))
                return
            if ri.node.kind != FILE or not ri.node.executable:
                self.add(Finding(ERROR, "not-executable", f"ELF interpreter {ri.path} is not an executable file", ri.path,
                                 runtime_error=F.exec_error(top, F.EACCES), effect=F.EXEC_FAILURE))
                return
            if not self._arch_ok(ri.path, ri.node, top, "ELF interpreter", F.ELIBBAD):
                return
            self.steps.append(Step(ri.path, "ELF interpreter", "interpreter"))
        self._libraries(path, info.needed)

    def _read(self, path: str, node: Node, top: str):
        stream = self.fs.open(node)
        if stream is None:
            return None
        try:
            return read_elf(stream)
        except BadInput as e:
            self.add(Finding(ERROR, "malformed-elf", f"{path}: {e}", path,
                             runtime_error=F.exec_error(top, F.ENOEXEC), effect=F.EXEC_FAILURE))
            return None

    # -- shared libraries ---------------------------------------------------

    def library_dirs(self) -> list[str]:
        dirs = [d for d in self.env.get("LD_LIBRARY_PATH", "").split(":") if d]
        dirs += self._ld_so_conf("/etc/ld.so.conf", 0)
        triple = MULTIARCH.get(self.platform.architecture)
        if triple:
            dirs += [f"/lib/{triple}", f"/usr/lib/{triple}", f"/usr/local/lib/{triple}"]
        if self.platform.architecture == "riscv64":
            dirs += ["/lib64/lp64d", "/usr/lib64/lp64d"]
        dirs += ["/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"]
        return list(dict.fromkeys(dirs))

    def _ld_so_conf(self, path: str, depth: int) -> list[str]:
        node = self.fs.lookup(path)
        if node is None or node.kind != FILE or depth > 3:
            return []
        out: list[str] = []
        for line in node.head.decode("utf-8", "replace").splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("include "):
                pattern = line[len("include "):].strip()
                parent, _, glob = pattern.rpartition("/")
                d = self.fs.lookup(parent)
                if d is not None and d.children is not None:
                    for name in sorted(d.children):
                        if fnmatch.fnmatch(name, glob):
                            out += self._ld_so_conf(f"{parent}/{name}", depth + 1)
            elif line.startswith("/"):
                out.append(line)
        return out

    def _libraries(self, path: str, needed: tuple[str, ...]) -> None:
        dirs = self.library_dirs()
        seen: set[str] = set()
        queue = [(path, lib) for lib in needed]
        while queue and len(seen) < MAX_LIBS:
            owner, lib = queue.pop(0)
            if lib in seen:
                continue
            seen.add(lib)
            found = self._find_library(lib, dirs)
            if found is None:
                elsewhere = self.fs.find_named(lib)
                loader = f"{posixpath.basename(path)}: error while loading shared libraries: {lib}: cannot open shared object file: No such file or directory"
                if elsewhere:
                    self.add(Finding(WARNING, "library-off-path",
                                     f"{owner} needs {lib}; it is at {', '.join(elsewhere)}, outside the loader's default directories "
                                     f"(fine only if RUNPATH or ld.so.cache points there)", elsewhere[0], runtime_error=loader, effect=F.LOADER_FAILURE))
                else:
                    self.add(Finding(ERROR, "missing-library", f"{owner} needs {lib}, which is not in the image", lib,
                                     runtime_error=loader, effect=F.LOADER_FAILURE))
                continue
            lib_path, node = found
            self.steps.append(Step(lib_path, f"library {lib}", "library", (("library", lib),)))
            info = None
            stream = self.fs.open(node)
            if stream is not None:
                try:
                    info = read_elf(stream)
                except BadInput:
                    info = None
            if info is not None:
                queue.extend((lib_path, n) for n in info.needed)

    def _find_library(self, lib: str, dirs: list[str]) -> tuple[str, Node] | None:
        candidates = [lib] if "/" in lib else [f"{d}/{lib}" for d in dirs]
        for c in candidates:
            try:
                r = self.fs.resolve(c)
            except PathError:
                continue
            hdr = identify(r.node.head) if r.node.kind == FILE else None
            # The loader skips files of the wrong machine and keeps searching.
            if hdr is not None and hdr.goarch == self.platform.architecture:
                return r.path, r.node
        return None

    # -- scripts ------------------------------------------------------------

    def _script(self, path: str, node: Node, top: str, depth: int) -> None:
        line = node.head[2:].split(b"\n", 1)[0]
        text = line.decode("utf-8", "surrogateescape").lstrip(" \t")
        interp, _, arg = text.replace("\t", " ").partition(" ")
        arg = arg.strip()
        if not interp:
            self.add(Finding(ERROR, "exec-format", f"{path} starts with '#!' but names no interpreter", path,
                             runtime_error=F.exec_error(top, F.ENOEXEC), effect=F.EXEC_FAILURE))
            return
        self.steps.append(Step(path, f"script, interpreter {interp}" + (f" {arg}" if arg else ""), "script",
                               (("interpreter", interp), ("argument", arg))))
        if depth + 1 >= MAX_SCRIPT_DEPTH:
            self.add(Finding(ERROR, "interpreter-loop", f"{path}: too many nested #! interpreters", path,
                             runtime_error=F.exec_error(top, F.ELOOP), effect=F.EXEC_FAILURE))
            return
        try:
            self.fs.resolve(interp, self.cwd)
        except PathError:
            hint = " (the line ends with a carriage return: the file has DOS line endings)" if interp.endswith("\r") else ""
            self.add(Finding(ERROR, "missing-interpreter",
                             f"{path} is a script whose interpreter {interp.rstrip()} is not in the image{hint} "
                             f"(the kernel reports the script itself as missing)", interp.rstrip(),
                             runtime_error=F.exec_error(top, F.ENOENT), effect=F.EXEC_FAILURE))
            return
        before = len(self.findings)
        self.exec(interp, top, depth + 1)
        if len(self.findings) == before and posixpath.basename(interp) == "env" and arg and not arg.startswith("-"):
            self._env_target(arg.split()[0], top, depth + 1)

    def _env_target(self, name: str, top: str, depth: int) -> None:
        # ``#!/usr/bin/env NAME``: env searches NAME in the container's PATH.
        found = look_path_quiet(self, name)
        if found is None:
            self.add(Finding(ERROR, "not-in-path", f"{top} runs '{name}' through env, and {name!r} is not on PATH ({self.path_env})",
                             name, runtime_error=f"/usr/bin/env: '{name}': No such file or directory",
                             effect="container exits with 127: CrashLoopBackOff"))
            return
        self.steps.append(Step(found, "found by env through PATH", "env-lookup"))
        self.exec(found, top, depth)


def look_path_quiet(checker: Checker, name: str) -> str | None:
    """A PATH search that only answers (used for ``#!/usr/bin/env NAME``)."""
    return find_in_path(checker.fs, name, checker.path_env, checker.cwd, skip_relative=True).path
