"""What checking the blobs a copy relies on costs (measured side by side, not a timed test).

1. A copy within one registry (every blob mounted from the source
   repository): ``archport copy`` (mounted blobs read back and hashed, the
   default), ``archport copy --no-verify-blobs`` (HEAD checks only), and
   ``skopeo copy --all`` (mounts, reads nothing back).  A 3-platform set of
   15 layers, a fresh destination repository each time, best and median of N.
2. A re-copy into an ``oci:`` layout that already holds the image: every
   blob it relies on is hashed (the default now) — wall time of the CLI.

Run:  PYTHONPATH=src:. python bench/bench_verify.py [--rounds 3] [--layer-mb 14] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench.bench_copy import ENV, archport, run  # noqa: E402
from standins import images as im  # noqa: E402
from tests.support.registry import Registry  # noqa: E402


def skopeo_same_registry(src: str, dst: str) -> list[str]:
    return ["skopeo", "copy", "--all", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false",
            f"docker://{src}", f"docker://{dst}"]


def timed(cmd: list[str]) -> tuple[float, float | None]:
    """Wall seconds of the process, and the copy's own ``seconds`` (its
    ``--json`` report: the copy without interpreter start-up) for archport."""
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    inner = json.loads(p.stdout)["seconds"] if "--json" in cmd else None
    return wall, inner


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--layer-mb", type=int, default=14, help="size of each of the 15 layers")
    ap.add_argument("--out")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="archport-bench-verify-"))
    reg = Registry(work / "reg")
    reg.start()
    try:
        images = []
        for p in ("linux/amd64", "linux/arm64", "linux/riscv64"):
            layers = [im.big_layer(work / f"{p.replace('/', '_')}-{i}", a.layer_mb << 20) for i in range(5)]
            images.append(im.make_image(p, layers))
        top = im.make_index(images)
        total = sum(b.size for i in images for b in i.blobs())
        lay = im.write_layout(work / "layout", {"set": (top, images)})
        src = f"{reg.host}/bench/src:1"
        im.push(lay, "set", src)

        cases = {
            "archport (mounts read back)": lambda dst: archport("copy", "--json", src, dst),
            "archport --no-verify-blobs": lambda dst: archport("copy", "--json", "--no-verify-blobs", src, dst),
            "skopeo copy --all": lambda dst: skopeo_same_registry(src, dst),
        }
        walls: dict[str, list[float]] = {k: [] for k in cases}
        inner: dict[str, list[float]] = {k: [] for k in cases}
        for n in range(a.rounds):
            order = list(cases) if n % 2 == 0 else list(reversed(cases))
            for who in order:
                dst = f"{reg.host}/bench/dst-{uuid.uuid4().hex[:8]}:1"
                w, i = timed(cases[who](dst))
                walls[who].append(w)
                if i is not None:
                    inner[who].append(i)
        same = {k: {"wall_best_s": min(v), "wall_median_s": statistics.median(v),
                    **({"copy_best_s": min(inner[k]), "copy_median_s": statistics.median(inner[k])}
                       if inner[k] else {})} for k, v in walls.items()}

        dst_lay = work / "dst-layout"
        run(archport("copy", f"oci:{lay}:set", f"oci:{dst_lay}:set"))
        recopy = [timed(archport("copy", "--json", f"oci:{lay}:set", f"oci:{dst_lay}:set")) for _ in range(a.rounds)]
        out = {"bytes": total, "layers": 15, "rounds": a.rounds, "same_registry_copy": same,
               "layout_recopy": {"wall_best_s": min(w for w, _ in recopy),
                                 "copy_best_s": min(i for _, i in recopy)}}
        print(json.dumps(out, indent=2))
        if a.out:
            Path(a.out).write_text(json.dumps(out, indent=2))
        return 0
    finally:
        reg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
