"""Benchmark: ``archport check`` of a 100 MB image whose layers are local.

Target (issue 3): at most 1 s.  Side by side, in the same run, the peers a
hand check would use on the same layers: ``tar -xzf`` of every layer into a
temporary directory (extraction, what ``check`` never does), and ``gzip -dc``
alone (the decompression floor).

    PYTHONPATH=src:. python bench/bench_check.py [--size-mb 100] [--go-binary PATH]

The image: a riscv64 Go program (built here with the real toolchain unless
--go-binary is given) made into a ~70 MB executable by appending copies of
itself (it stays a valid ELF and compresses like a real binary), a base
layer of ~2,000 smaller files cut from the same bytes, and a third layer
that whiteouts some of them.  Layers are gzip -6, as registries serve them.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from archport.check import Contract, check_image  # noqa: E402
from archport.layout import LayoutSource  # noqa: E402
from archport.platform import RISCV64  # noqa: E402
from standins.images import OCI_LAYER, Blob, make_image, make_index, sha256, write_layout  # noqa: E402


def go_program(out: Path) -> bytes:
    env = {**os.environ, "GOOS": "linux", "GOARCH": "riscv64", "CGO_ENABLED": "0", "GOPROXY": "off",
           "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    subprocess.run(["go", "build", "-trimpath", "-buildvcs=false", "-o", str(out), "."],
                   cwd=REPO / "tests/fixtures/go/smokehello", env=env, check=True)
    return out.read_bytes()


def tar_layer(entries: list[tuple[str, bytes | None, int]]) -> tuple[bytes, int]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in entries:
            ti = tarfile.TarInfo(name)
            ti.mode = mode
            if data is None:
                ti.type = tarfile.DIRTYPE
                tar.addfile(ti)
            else:
                ti.size = len(data)
                tar.addfile(ti, io.BytesIO(data))
    plain = raw.getvalue()
    return gzip.compress(plain, compresslevel=6, mtime=0), len(plain)


def build(tmp: Path, size_mb: int, prog: bytes) -> tuple[Path, int]:
    big = (prog * (int(size_mb * 0.7 * 1e6) // len(prog) + 1))[: int(size_mb * 0.7 * 1e6)]
    small_total = int(size_mb * 0.3 * 1e6)
    n = 2000
    per = small_total // n
    base = [("usr", None, 0o755), ("usr/bin", None, 0o755), ("usr/share", None, 0o755)]
    for i in range(n):
        off = (i * 7919) % max(1, len(big) - per)
        base.append((f"usr/share/data/{i // 100:02d}/file{i:04d}", big[off:off + per], 0o644))
    app = [("usr/bin/app", big, 0o755)]
    wh = [(f"usr/share/data/00/.wh.file{i:04d}", b"", 0o644) for i in range(0, 100, 3)]
    blobs, diff_ids, total = [], [], 0
    for entries in (base, app, wh):
        data, plain_size = tar_layer(entries)
        total += plain_size
        blobs.append(Blob(OCI_LAYER, data, None, sha256(data), len(data)))
        diff_ids.append(sha256(gzip.decompress(data)))
    img = make_image("linux/riscv64", blobs, config={"Entrypoint": ["app"], "Env": ["PATH=/usr/bin"]}, diff_ids=diff_ids)
    root = tmp / "layout"
    write_layout(root, {"v1": (make_index([img]), [img])})
    return root, total


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=100)
    ap.add_argument("--go-binary")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        prog = Path(a.go_binary).read_bytes() if a.go_binary else go_program(tmp / "prog")
        root, total = build(tmp, a.size_mb, prog)
        layers = [p for p in (root / "blobs" / "sha256").iterdir() if p.read_bytes()[:2] == b"\x1f\x8b"]
        compressed = sum(p.stat().st_size for p in layers)

        def check() -> None:
            report = check_image(LayoutSource(str(root), "v1"), RISCV64, [Contract()])
            assert report.ok, report.all_findings()

        def untar() -> None:
            with tempfile.TemporaryDirectory(dir=tmp) as out:
                for p in layers:
                    subprocess.run(["tar", "-xzf", str(p), "-C", out], check=True)

        def gunzip() -> None:
            for p in layers:
                subprocess.run(["gzip", "-dc", str(p)], check=True, stdout=subprocess.DEVNULL)

        t_check, t_tar, t_gz = timed(check), timed(untar), timed(gunzip)
        print(f"image: {total / 1e6:.1f} MB uncompressed in 3 layers ({compressed / 1e6:.1f} MB gzip -6)")
        print(f"archport check   {t_check:6.3f} s   (target <= 1 s: {'met' if t_check <= 1 else 'MISSED'})")
        print(f"tar -xzf layers  {t_tar:6.3f} s   ratio check/tar  {t_check / t_tar:.2f}")
        print(f"gzip -dc layers  {t_gz:6.3f} s   ratio check/gzip {t_check / t_gz:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
