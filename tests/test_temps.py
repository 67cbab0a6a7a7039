"""Temporaries that name their process, and their reclaiming."""

from __future__ import annotations

import os
import subprocess

from archport import temps


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_names_carry_the_pid_and_are_unique():
    a, b = temps.name(".blob"), temps.name(".blob")
    assert a != b and a.startswith(".blob.tmp-") and temps.owner(a) == os.getpid()
    assert temps.owner("index.json") is None and temps.owner("out.tar.tmp") is None


def test_reclaim_removes_only_dead_owners_and_only_under_the_stem(tmp_path):
    dead = _dead_pid()
    gone_file = tmp_path / f"out.tar.tmp-{dead}-0123456789ab"
    gone_dir = tmp_path / f".out.tar.tmp-{dead}-0123456789ab"
    mine = tmp_path / temps.name("out.tar")
    other_stem = tmp_path / f"else.tar.tmp-{dead}-0123456789ab"
    legacy = tmp_path / "out.tar.tmp"             # no pid: cannot be proved dead
    for f in (gone_file, mine, other_stem, legacy):
        f.write_bytes(b"x")
    (gone_dir / "layout").mkdir(parents=True)
    removed = temps.reclaim(tmp_path, "out.tar") + temps.reclaim(tmp_path, ".out.tar")
    assert sorted(removed) == sorted([gone_file, gone_dir])
    assert mine.exists() and other_stem.exists() and legacy.exists()
    assert temps.reclaim(tmp_path / "missing") == []


def test_write_atomic_leaves_no_temporary(tmp_path):
    temps.write_atomic(tmp_path / "index.json", b"{}")
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]
