"""Test sessions sharing one bed.

The bed's ports are fixed, so sessions that run at the same time share one
bed.  Each registers in ``run/users/<pid>``; the marker ``started-by-tests``
says a test session (not a developer's ``up``) brought it up, and the last
session out then takes it down.
"""
from __future__ import annotations

import os
from pathlib import Path

from testbed import node, supervise
from testbed.paths import Layout


def _users(lay: Layout) -> Path:
    return lay.run / "users"


def add_user(lay: Layout, started_it: bool) -> None:
    """Register this process as a user of the bed (test sessions); the marker
    ``started-by-tests`` says a test session, not a developer, brought it up."""
    _users(lay).mkdir(parents=True, exist_ok=True)
    (_users(lay) / str(os.getpid())).write_text(supervise.start_time(os.getpid()) or "")
    if started_it:
        (lay.run / "started-by-tests").write_text("")


def other_users(lay: Layout) -> list[int]:
    out = []
    for f in _users(lay).glob("*") if _users(lay).is_dir() else []:
        pid = int(f.name)
        if pid != os.getpid() and supervise.start_time(pid) == f.read_text():
            out.append(pid)
    return out


def release_user(lay: Layout) -> None:
    """Unregister; take the bed down if a test session brought it up and no
    other session still uses it.  Under the bed's lock, so that a session
    whose ``up`` is under way (registered first) is seen."""
    with node.Locked(lay):
        (_users(lay) / str(os.getpid())).unlink(missing_ok=True)
        if not other_users(lay) and (lay.run / "started-by-tests").exists():
            node.stop_all(lay)
            (lay.run / "started-by-tests").unlink(missing_ok=True)
