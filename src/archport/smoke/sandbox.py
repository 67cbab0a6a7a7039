"""Run an image's program under qemu-user, confined (the fallback when
containerd cannot run).

The program is untrusted code, so it never runs with the host in reach: it
gets new user, mount, PID, network and IPC namespaces, the extracted root
filesystem as its root (``pivot_root``, the old root detached), an
unprivileged uid outside (``nobody`` when archport is root, else the caller's
own uid), ``/proc`` of its own PID namespace, a private ``/dev`` with only
null, zero, full, random and urandom, no network but a down loopback, and
``no_new_privs``.  What it writes goes to a tmpfs of ``max_write`` bytes laid
over the root (an overlay: the extracted tree is never changed), and it may
run ``max_processes`` processes and threads at once (RLIMIT_NPROC, qemu's own
threads included).  qemu is copied into the root, so it must be statically
linked.  If any of that cannot be had, nothing runs: :class:`Unconfined` says
what is missing in one line.

The namespace work happens in a fresh interpreter (:mod:`._jail`, run as a
script): a single-threaded process may fork and unshare safely, which a
``preexec_fn`` in a threaded one may not.  It runs in a session of its own,
so a terminal's Ctrl-C reaches archport, not the program.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..binaries.elf import read_elf
from ..catalog.smoke import Signal
from ..errors import ArchportError, BadInput
from .target import Program
from .watch import Watched, watch

NOBODY = 65534
MAX_PROCESSES = 256                 # tasks (processes and threads) the program may have at once
INSIDE = "/.archport-qemu"          # where qemu is placed in the image's root
_JAIL = str(Path(__file__).with_name("_jail.py"))
_HINT = ("the emulated fallback needs user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
         "user.max_user_namespaces > 0) and qemu-user-static; or install containerd and runc "
         "(apt-get install containerd runc qemu-user-static)")


class Unconfined(ArchportError):
    """The program cannot be confined here, so it is not run."""


def owner() -> tuple[int, int] | None:
    """(uid, gid) the extracted root must belong to: the uid the program
    runs as outside its user namespace (None: the caller's own)."""
    return (NOBODY, NOBODY) if os.geteuid() == 0 else None


def _static_qemu(qemu: str) -> None:
    try:
        with open(qemu, "rb") as f:
            info = read_elf(f)
    except (OSError, BadInput) as e:
        raise Unconfined(f"refusing to run the image unconfined: cannot read {qemu}: {e}; {_HINT}") from None
    if info is None or not info.static:
        raise Unconfined(f"refusing to run the image unconfined: {qemu} is not statically linked, so it cannot "
                         f"run inside the image's root; {_HINT}")


def run(qemu: str, root: Path, target: str, program: Program, timeout: float,
        signal: Signal | None = None, *, max_write: int, max_processes: int | None = None) -> Watched:
    """Run ``target`` (a path inside ``root``) as ``program.argv`` under
    ``qemu``, confined, until ``signal``, its exit or the timeout
    (:func:`.watch.watch`).  The program's files and writable directories
    are already in ``root`` (:func:`.mounts.stage_files`).

    A network signal brings the jail's loopback up (it stays a network
    namespace of its own: the program reaches nothing else) and is asked
    from inside that namespace, joined through the jail's first process."""
    _static_qemu(qemu)
    shutil.copyfile(qemu, root / INSIDE.lstrip("/"))
    os.chmod(root / INSIDE.lstrip("/"), 0o755)
    ids = owner() or (os.geteuid(), os.getegid())
    argv = program.argv
    scratch = root.parent / (root.name + ".writes")     # the tmpfs's mount point, private to the jail
    scratch.mkdir(mode=0o700, exist_ok=True)
    spec = {"root": str(root), "workdir": program.workdir or "/", "uid": ids[0], "gid": ids[1],
            "env": dict(program.env), "argv": [INSIDE, "-0", argv[0], target, *argv[1:]],
            "loopback": bool(signal is not None and signal.network), "scratch": str(scratch),
            "max_write": int(max_write), "max_processes": int(max_processes or MAX_PROCESSES)}
    r, w = os.pipe()
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-S", _JAIL, json.dumps(spec), str(w)], pass_fds=(w,),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={}, start_new_session=True)
    finally:
        os.close(w)
    try:
        with os.fdopen(r, "rb") as status:
            why = _setup_error(status, proc)
        if why:
            proc.communicate()
            raise Unconfined(f"refusing to run the image unconfined: {why}; {_HINT}")
        return watch(proc, timeout, signal, netns_pid=lambda: proc.pid, stop=lambda: _kill(proc))
    except BaseException:
        _kill(proc)      # Ctrl-C, SIGTERM turned into KeyboardInterrupt, or our own error
        proc.communicate()
        raise


def _setup_error(status, proc: subprocess.Popen, limit: float = 60) -> str:
    """What the jail wrote before exec; "" once the exec closed it empty."""
    deadline = time.monotonic() + limit
    data = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([status], [], [], 0.5)
        if ready:
            chunk = os.read(status.fileno(), 4096)
            if not chunk:
                return data.decode(errors="replace").strip()
            data += chunk
        elif proc.poll() is not None and not data:
            return f"the confinement helper exited {proc.returncode} before starting the program"
    return "the confinement helper did not start the program within a minute"


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
