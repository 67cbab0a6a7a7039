"""Files written beside a destination: temporaries a later run can prove
dead, atomic replacement, and a lock.

Every temporary name archport writes beside a destination carries the
writing process's pid: ``<stem>.tmp-<pid>-<random>``.  A run that is killed
(SIGKILL, power loss) cannot clean up after itself; the next run that writes
to the same place removes the temporaries whose pid is no longer running.
A temporary whose pid is alive is never touched: it may be another run's
write in progress.  (A pid may be reused by an unrelated process; then a
leftover survives one more run — the safe way to be wrong.)
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

MARK = ".tmp-"
_TAIL = re.compile(r"\.tmp-(\d+)-[0-9a-f]{12}(?:\.[A-Za-z0-9]+)?$")


def name(stem: str, suffix: str = "") -> str:
    """A fresh temporary name for ``stem`` owned by this process."""
    return f"{stem}{MARK}{os.getpid()}-{uuid.uuid4().hex[:12]}{suffix}"


def owner(filename: str) -> int | None:
    """The pid a temporary name carries, or None if it is not one of ours."""
    m = _TAIL.search(filename)
    return int(m.group(1)) if m else None


def alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def reclaim(directory: Path, stem: str = "") -> list[Path]:
    """Remove the temporaries in ``directory`` (whose names start with
    ``stem``) left by processes that are gone.  Returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for e in entries:
        if not e.name.startswith(stem):
            continue
        pid = owner(e.name)
        if pid is None or alive(pid):
            continue
        p = Path(e.path)
        try:
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(p)
            else:
                p.unlink()
        except FileNotFoundError:
            continue  # another run reclaimed it first
        removed.append(p)
    return removed


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` through a temporary sibling and ``os.replace``."""
    tmp = path.with_name(name(f".{path.name}"))
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


__all__ = ["name", "owner", "alive", "reclaim", "write_atomic", "MARK"]
