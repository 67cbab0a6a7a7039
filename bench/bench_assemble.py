"""Assembling an image around a 50 MB binary vs ``gzip -6`` of the same file.

Issue 3, Performance: assembly (tar + gzip level 6 + two SHA-256s + config
and manifest) must take at most 1.5x the time of ``gzip -6`` alone.  Both run
side by side in one process, on the same file, writing to the same disk;
the best of N runs is compared (the least disturbed by the machine).

    PYTHONPATH=src python bench/bench_assemble.py [--size-mb 50] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from archport.assemble.image import assemble, provenance
from archport.assemble.layer import FileSpec
from archport.platform import RISCV64


def make_binary(path: str, size: int, seed: int = 1) -> None:
    """Random-ish but compressible, like machine code: a vocabulary of random
    64-byte words, picked at random, with some purely random stretches."""
    rnd = random.Random(seed)
    words = [rnd.randbytes(64) for _ in range(256)]
    with open(path, "wb") as out:
        written = 0
        while written < size:
            block = b"".join(rnd.choice(words) for _ in range(1024))
            if rnd.random() < 0.3:
                block = rnd.randbytes(len(block))
            block = block[: size - written]
            out.write(block)
            written += len(block)


def time_gzip(src: str, dst: str) -> float:
    t = time.perf_counter()
    with open(src, "rb") as i, open(dst, "wb") as o:
        subprocess.run(["gzip", "-6", "-n", "-c"], stdin=i, stdout=o, check=True)
    return time.perf_counter() - t


def time_assemble(src: str, workdir: str) -> tuple[float, int]:
    t = time.perf_counter()
    built = assemble(None, [FileSpec("/usr/local/bin/big", source=src, mode=0o755)], platform=RISCV64,
                     family="oci", reference_config={"Entrypoint": ["/usr/local/bin/big"]},
                     annotations=provenance(strategy="bench"), workdir=workdir)
    return time.perf_counter() - t, built.manifest.layers[0].size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    if shutil.which("gzip") is None:
        print("gzip is needed for the comparison", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="bench-assemble-")
    try:
        src = os.path.join(tmp, "big")
        make_binary(src, args.size_mb * 1024 * 1024)
        gz, asm = [], []
        for n in range(args.runs):
            gz.append(time_gzip(src, os.path.join(tmp, "big.gz")))
            work = os.path.join(tmp, f"w{n}")
            os.mkdir(work)
            secs, layer_size = time_assemble(src, work)
            asm.append(secs)
            shutil.rmtree(work)
        gz_size = os.path.getsize(os.path.join(tmp, "big.gz"))
        g, a = min(gz), min(asm)
        print(f"input               {args.size_mb} MiB ({args.runs} runs, best shown)")
        print(f"gzip -6             {g:7.3f} s   -> {gz_size / 2**20:6.1f} MiB")
        print(f"archport assemble   {a:7.3f} s   -> {layer_size / 2**20:6.1f} MiB layer")
        print(f"ratio               {a / g:7.2f}x  (target <= 1.5x)")
        return 0 if a / g <= 1.5 else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
