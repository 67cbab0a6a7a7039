#!/usr/bin/env python3
"""Benchmark: how long ``archport --help`` and ``archport COMMAND --help``
take to start, beside a peer's ``--help`` (skopeo, a Go binary) in the same
run, as ratios (target: ``archport --help`` under 0.25 s on an idle machine).

    PYTHONPATH=src python bench/bench_startup.py [--runs 10] [--peer skopeo]

Each figure is the median wall time of ``--runs`` fresh processes started
with this Python (``python -m archport.cli.main``, what the console script
runs, without a version manager's shim in front).  Start-up is paid by every
script that calls archport, so ``archport --help`` imports no command and
``archport COMMAND --help`` imports only that one.  Prints one line per
command and a summary line for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from archport.cli.commands import NAMES  # noqa: E402

TARGET = 0.25


def timed(argv: list[str], runs: int, env: dict[str, str]) -> float:
    """The median wall time of ``runs`` runs of ``argv`` (output discarded)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--peer", default="skopeo", help="a program whose --help is the yardstick")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    me = [sys.executable, "-m", "archport.cli.main"]
    bare = timed([sys.executable, "-c", "pass"], args.runs, env)
    peer_bin = shutil.which(args.peer)
    peer = timed([peer_bin, "--help"], args.runs, env) if peer_bin else None
    top = timed([*me, "--help"], args.runs, env)
    rows = [("--help", top)] + [(f"{name} --help", timed([*me, name, "--help"], args.runs, env)) for name in NAMES]
    print(f"python -c pass: {bare:.3f} s" + (f"; {args.peer} --help: {peer:.3f} s" if peer else
                                             f"; {args.peer}: not installed"))
    for label, seconds in rows:
        ratio = f"  {seconds / peer:6.1f}x {args.peer}" if peer else ""
        print(f"archport {label:18} {seconds:.3f} s (python + {seconds - bare:.3f} s){ratio}")
    worst = max(rows[1:], key=lambda r: r[1])
    verdict = "under" if top < TARGET else "OVER"
    print(f"summary: archport --help {top:.3f} s ({verdict} the {TARGET} s target; python itself {bare:.3f} s)"
          + (f", {top / peer:.1f}x {args.peer} --help ({peer:.3f} s)" if peer else "")
          + f"; slowest command help: {worst[0]} {worst[1]:.3f} s; median of {args.runs} runs")
    return 0 if top < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
