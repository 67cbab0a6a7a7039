"""Findings, and the exact error each one would cause on a node.

Where the strings come from (runc ≥ 1.1 with containerd's CRI, as k3s ships):

* runc ``libcontainer/standard_init_linux.go`` calls Go's ``exec.LookPath``
  on ``args[0]`` *before* the exec fifo is opened, so a lookup failure is a
  create-time error: containerd's CRI marks the container ``StartError`` with
  exit code 128 (``errorStartReason``/``errorStartExitCode`` in its
  ``server/helpers.go``) and the kubelet reports ``RunContainerError``
  (``ErrRunContainer`` in ``pkg/kubelet/container/sync_result.go``).  The
  message is Go's ``os/exec`` error: ``exec: "NAME": executable file not
  found in $PATH`` (``ErrNotFound``), or for a name with a slash
  ``exec: "PATH": stat PATH: no such file or directory`` /
  ``…: permission denied`` / ``…: is a directory`` (``findExecutable``).
* After the lookup runc calls ``execve`` itself and wraps its errno as
  ``exec PATH: ERRNO`` (an ``os.PathError`` with Op "exec"; runc < 1.1 said
  ``standard_init_linux.go:NNN: exec user process caused: ERRNO``).  That
  line goes to the container's log and the pod ends in CrashLoopBackOff.
  ENOEXEC (``exec format error``): wrong architecture, or neither ELF nor
  ``#!``; ENOENT (``no such file or directory``): the ELF interpreter
  (PT_INTERP) or the ``#!`` interpreter is missing, although the file itself
  exists; ELIBBAD (``accessing a corrupted shared library``): the
  interpreter is not an ELF for this machine (fs/binfmt_elf.c).
* A missing ``DT_NEEDED`` library is reported by the dynamic loader after
  exec (glibc: ``error while loading shared libraries: LIB: cannot open
  shared object file: No such file or directory``, exit 127).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ERROR = "error"        # the container will not start: exit 1
WARNING = "warning"    # suspicious, reported, not fatal

CREATE_FAILURE = "RunContainerError (container StartError, exit code 128)"
EXEC_FAILURE = "container exits at once: CrashLoopBackOff"
LOADER_FAILURE = "container exits with 127: CrashLoopBackOff"
UNPACK_FAILURE = "image unpack fails: ErrImagePull"
CREATE_CONFIG_FAILURE = "CreateContainerError"


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str          # ERROR | WARNING
    code: str              # stable identifier, e.g. "not-in-path"
    message: str           # what is wrong, for a person
    path: str = ""         # the file in the image it is about
    runtime_error: str = ""  # the line runc / the loader / the kubelet would print
    effect: str = ""       # what the kubelet shows

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"severity": self.severity, "code": self.code, "message": self.message}
        for k in ("path", "runtime_error", "effect"):
            v = getattr(self, k)
            if v:
                d[k] = v
        return d


def quote(s: str) -> str:
    """Go's ``strconv.Quote`` for the names in exec errors (printable ASCII case)."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= ord(ch) < 0x7F:
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode())
    return '"' + "".join(out) + '"'


def lookup_error(name: str, detail: str) -> str:
    """Go ``exec.Error``: ``exec: "NAME": DETAIL``."""
    return f"exec: {quote(name)}: {detail}"


def exec_error(path: str, errno_text: str) -> str:
    """runc's wrapped execve failure: ``exec PATH: ERRNO``."""
    return f"exec {path}: {errno_text}"


ENOENT = "no such file or directory"
ENOEXEC = "exec format error"
EACCES = "permission denied"
EISDIR = "is a directory"
ENOTDIR = "not a directory"
ELOOP = "too many levels of symbolic links"
ELIBBAD = "accessing a corrupted shared library"
NOT_IN_PATH = "executable file not found in $PATH"
ERRNO_TEXT = {"ENOENT": ENOENT, "ENOTDIR": ENOTDIR, "ELOOP": ELOOP, "EACCES": EACCES, "EISDIR": EISDIR}
