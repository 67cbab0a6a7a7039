"""The bed's cgroups: one subtree, ``paths.CGROUP_ROOT``, in every hierarchy.

kubelet (cgroupfs driver) puts its QoS cgroups and every pod below it;
``down`` kills what is left in it and removes it, so the host's hierarchies
are as they were.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from testbed import paths


def dirs() -> list[Path]:
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():            # cgroup v2
        return [root / paths.CGROUP_ROOT.strip("/")]
    return [d / paths.CGROUP_ROOT.strip("/") for d in sorted(root.iterdir())
            if d.is_dir() and not d.is_symlink() and os.path.ismount(d)]


def make() -> None:
    for d in dirs():
        d.mkdir(exist_ok=True)
        # A new cpuset cgroup (v1) starts with no CPUs and no memory nodes.
        for knob in ("cpuset.cpus", "cpuset.mems"):
            if (d / knob).exists() and not (d / knob).read_text().strip():
                (d / knob).write_text((d.parent / knob).read_text())


def pids() -> list[int]:
    found: set[int] = set()
    for d in dirs():
        if d.is_dir():
            for procs in d.rglob("cgroup.procs"):
                found.update(int(x) for x in procs.read_text().split())
    return sorted(found)


def remove(attempts: int = 10) -> None:
    """Remove the subtree, deepest first.  A cgroup whose last process was
    just killed may stay busy for a moment (EBUSY): try again briefly."""
    for attempt in range(attempts):
        try:
            for d in dirs():
                if d.is_dir():
                    for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                        sub.rmdir()
                    d.rmdir()
            return
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)
