"""A small process supervisor that keeps its state in the bed directory.

Each service is started as the leader of its own process group; its pid and
the kernel's start time of that pid are kept in ``run/<name>.pid`` (the start
time guards against a recycled pid), and its output goes to
``logs/<name>.log``.  Stopping a service signals the whole group.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from testbed.paths import Layout


def start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (proc(5)), or None for a dead or zombie process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _pidfile(lay: Layout, name: str) -> Path:
    return lay.run / f"{name}.pid"


def pid(lay: Layout, name: str) -> int | None:
    """The service's pid if it is alive and still the process we started."""
    try:
        text = _pidfile(lay, name).read_text().split()
    except OSError:
        return None
    p, started = int(text[0]), text[1]
    if start_time(p) != started:
        return None
    return p


def alive(lay: Layout, name: str) -> bool:
    return pid(lay, name) is not None


def names(lay: Layout) -> list[str]:
    if not lay.run.is_dir():
        return []
    return sorted(p.stem for p in lay.run.glob("*.pid"))


def start(lay: Layout, name: str, argv: list[str], *, env: dict | None = None, cwd: Path | None = None) -> int:
    """Start ``argv`` unless ``name`` is alive already; returns its pid."""
    existing = pid(lay, name)
    if existing is not None:
        return existing
    lay.run.mkdir(parents=True, exist_ok=True)
    lay.logs.mkdir(parents=True, exist_ok=True)
    with open(lay.logs / f"{name}.log", "ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} start: {' '.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env, cwd=cwd)
    started = start_time(proc.pid)
    _pidfile(lay, name).write_text(f"{proc.pid} {started}\n")
    # The Popen object is dropped on purpose: the service outlives this call
    # (and the CLI process).  Reap it if it dies while we still run.
    _children.append(proc)
    return proc.pid


_children: list[subprocess.Popen] = []


def reap() -> None:
    for p in list(_children):
        if p.poll() is not None:
            _children.remove(p)


def _group_alive(pgid: int) -> bool:
    reap()
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A group whose members are all zombies is gone for our purposes.
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                return True
    return False


def stop(lay: Layout, name: str, timeout: float = 15.0) -> None:
    """TERM the service's process group, KILL it after ``timeout``; forget it."""
    p = pid(lay, name)
    if p is not None:
        kill_group(p, timeout)
    _pidfile(lay, name).unlink(missing_ok=True)


def kill_group(pgid: int, timeout: float = 15.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 5.0)
        while time.monotonic() < deadline:
            if not _group_alive(pgid):
                return
            time.sleep(0.1)


def kill_pids(pids: list[int], timeout: float = 10.0) -> None:
    """TERM, then KILL after ``timeout``, a set of processes that are not our
    group leaders; ``timeout=0``: KILL at once."""
    for sig in ((signal.SIGTERM, signal.SIGKILL) if timeout else (signal.SIGKILL,)):
        live = []
        for p in pids:
            try:
                os.kill(p, sig)
                live.append(p)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 5.0)
        while live and time.monotonic() < deadline:
            reap()
            live = [p for p in live if start_time(p) is not None]
            time.sleep(0.1)
        pids = live
        if not pids:
            return
