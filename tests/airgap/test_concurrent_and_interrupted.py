"""Concurrent and interrupted runs: two airgap runs to one --out, SIGTERM in
the middle of a copy or an airgap, and temporaries a dead run left behind."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from standins import images as I
from tests.support.cli import SRC, archport

ENV = {**os.environ, "PYTHONPATH": str(SRC)}


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "archport.cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)


def _temporaries(d) -> list:
    return sorted(p for p in d.rglob("*") if ".tmp-" in p.name or p.name.endswith(".tmp"))


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("small")
    plats = ("linux/amd64", "linux/arm64")
    tagged = {n: I.multiarch(tmp, n, platforms=plats, layers_per_platform=3) for n in ("pause", "coredns", "helm")}
    return I.write_layout(tmp / "up", tagged)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("big")
    layers = [I.big_layer(tmp / f"l{i}", 128 << 20) for i in range(2)]
    img = I.make_image("linux/amd64", layers)
    return I.write_layout(tmp / "lay", {"big": (img.manifest, [img])})


@pytest.fixture(scope="module")
def medium(tmp_path_factory):
    """Two images whose archives take a moment to compress, so that two
    runs started together are writing at the same time."""
    tmp = tmp_path_factory.mktemp("medium")
    tagged = {}
    for n in ("one", "two"):
        img = I.make_image("linux/amd64", [I.big_layer(tmp / n, 12 << 20)])
        tagged[n] = (img.manifest, [img])
    return I.write_layout(tmp / "up", tagged)


def test_two_airgap_runs_to_one_out_leave_a_matching_checksum(medium, tmp_path):
    out = tmp_path / "images.tar.gz"
    for round_ in range(4):
        runs = [_start("airgap", f"oci:{medium}:{n}=docker.io/rancher/{n}:1", "--out", str(out))
                for n in ("one", "two")]
        for p in runs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0 and "Traceback" not in err, err
        said = (tmp_path / "images.tar.gz.sha256").read_text()
        assert said == f"{hashlib.sha256(out.read_bytes()).hexdigest()}  images.tar.gz\n", f"round {round_}"
        assert _temporaries(tmp_path) == []


def _wait_for(predicate, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {what}: {proc.communicate()}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail(f"never saw {what}")


def _partial_blob(d):
    return lambda: any(p.stat().st_size > (1 << 20) for p in d.rglob("*.tmp-*") if p.is_file())


def test_sigterm_mid_copy_leaves_no_temporaries(big, tmp_path):
    dst = tmp_path / "dst"
    p = _start("copy", "--jobs", "1", f"oci:{big}:big", f"oci:{dst}:big")
    _wait_for(_partial_blob(tmp_path), p, "a blob being written")
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert _temporaries(tmp_path) == []
    assert not dst.exists()          # created by the run, committed by nobody


def test_sigterm_mid_airgap_leaves_no_temporaries(big, tmp_path):
    out = tmp_path / "out" / "images.tar"
    out.parent.mkdir()
    p = _start("airgap", "--jobs", "1", f"oci:{big}:big=docker.io/rancher/big:1", "--out", str(out))
    _wait_for(_partial_blob(out.parent), p, "a blob being staged")
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "Traceback" not in err
    assert list(out.parent.iterdir()) == []


def test_a_dead_runs_temporaries_are_reclaimed_a_live_ones_kept(small, tmp_path):
    dead, live = _dead_pid(), os.getpid()
    dst = tmp_path / "dst"
    archport("copy", f"oci:{small}:pause", f"oci:{dst}:pause")
    blobs = dst / "blobs" / "sha256"
    stale = blobs / f".0123456789abcdef.tmp-{dead}-0123456789ab"
    busy = blobs / f".0123456789abcdef.tmp-{live}-ba9876543210"
    stale_index = dst / f".index.json.tmp-{dead}-0123456789ab"
    for f in (stale, busy, stale_index):
        f.write_bytes(b"half a blob")
    archport("copy", f"oci:{small}:coredns", f"oci:{dst}:coredns")
    assert not stale.exists() and not stale_index.exists()
    assert busy.exists()

    out = tmp_path / "air" / "images.tar.gz"
    out.parent.mkdir()
    staged = out.parent / f".images.tar.gz.tmp-{dead}-0123456789ab"
    (staged / "layout").mkdir(parents=True)
    (staged / "layout" / "x").write_bytes(b"x")
    half = out.parent / f"images.tar.gz.tmp-{dead}-0123456789ab"
    sums = out.parent / f"images.tar.gz.sha256.tmp-{dead}-0123456789ab"
    other = out.parent / f"unrelated.tar.tmp-{dead}-0123456789ab"   # another output's: not ours to judge
    for f in (half, sums, other):
        f.write_bytes(b"x")
    archport("airgap", f"oci:{small}:pause=docker.io/rancher/pause:3.6", "--out", str(out))
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(["images.tar.gz", "images.tar.gz.sha256",
                                                                  other.name])
