"""A compression bomb costs time, never memory: ``check`` and ``inspect
--files`` stream a zstd layer of 1 GiB of zeros (a few tens of KB on disk)
through a bounded window, measured as the peak RSS of a real archport process
(the same layer took over 1 GB when inflated in one call)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import zstandard

from tests.support.cli import REPO, SRC
from standins.images import OCI_LAYER, Blob, make_image, make_index, write_layout

ZEROS = 1 << 30
PEAK_MB = 200


def zstd_bomb(path: Path) -> tuple[Blob, str]:
    """A one-file tar of ZEROS zero bytes, zstd-compressed, written streaming."""
    info = tarfile.TarInfo("zeros")
    info.size, info.mode = ZEROS, 0o644
    head = info.tobuf(format=tarfile.PAX_FORMAT)
    tail = b"\0" * (2 * 512)                    # ZEROS is a multiple of 512: no padding
    diff = hashlib.sha256(head)
    block = b"\0" * (1 << 20)
    with open(path, "wb") as f:
        with zstandard.ZstdCompressor(level=3).stream_writer(f, closefd=False) as z:
            z.write(head)
            for _ in range(ZEROS // len(block)):
                z.write(block)
                diff.update(block)
            z.write(tail)
            diff.update(tail)
    data = path.read_bytes()
    return Blob(OCI_LAYER, data, None, "sha256:" + hashlib.sha256(data).hexdigest(), len(data)), \
        "sha256:" + diff.hexdigest()




def test_check_and_inspect_files_stream_a_zstd_bomb(tmp_path):
    blob, diff_id = zstd_bomb(tmp_path / "bomb.zst")
    assert blob.size < 200_000
    img = make_image("linux/riscv64", [blob], config={"Entrypoint": ["/zeros"]}, diff_ids=[diff_id])
    layout = write_layout(tmp_path / "layout", {"v1": (make_index([img]), [img])})
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    for args in (["check", f"oci:{layout}:v1"], ["inspect", "--files", f"oci:{layout}:v1"]):
        code, out, err, peak = run_measured(args, env)
        assert "Traceback" not in err, err
        assert code in (0, 1), out + err
        assert peak < PEAK_MB, f"{args[0]}: peak RSS {peak:.0f} MB"
        if args[0] == "check":
            assert "/zeros" in out, out


def run_measured(args: list[str], env: dict) -> tuple[int, str, str, float]:
    """Run archport; its peak RSS is the VmHWM of its own address space, read
    while it runs.  (ru_maxrss would not do: Linux carries the forking test
    process's high-water mark over the exec.)"""
    p = subprocess.Popen([sys.executable, "-m", "archport.cli.main", *args], cwd=REPO, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_kb = 0
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak_kb = max(peak_kb, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    out, err = p.communicate()
    return p.returncode, out, err, peak_kb / 1024
