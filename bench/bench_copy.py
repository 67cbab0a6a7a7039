"""Issue 2 benchmarks, measured side by side in one run (not timed tests).

1. Copy a 3-platform set (>= 200 MB, 5 layers per platform) between two
   loopback registries: ``archport copy`` vs ``skopeo copy --all``, same
   source, fresh destination registries, alternating order, best of N.
2. Re-copy 8 images that already exist at the destination: must be HEAD
   requests only, <= 0.5 s in total (measured in one process: the library
   calls the CLI makes, without interpreter start-up; CLI wall time shown too).
3. Peak RSS while copying a 1 GB layer (target <= 150 MB), skopeo's beside it.

Run:  PYTHONPATH=src:. python bench/bench_copy.py [--rounds 3] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from standins import images as im  # noqa: E402
from tests.support.registry import Registry  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}"}


def _hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (kB) of one child process.

    Peak RSS is the child's own ``VmHWM``, polled while it runs: rusage's
    ``ru_maxrss`` would carry over the forking parent's high-water mark."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    peak = 0
    while p.poll() is None:
        peak = max(peak, _hwm(p.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode()
    p.stderr.close()
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err}")
    return wall, peak


def archport(*args: str) -> list[str]:
    return [sys.executable, "-m", "archport.cli.main", *args]


def skopeo_copy(src: str, dst: str) -> list[str]:
    return ["skopeo", "copy", "--all", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false",
            f"docker://{src}", f"docker://{dst}"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--layer-mb", type=int, default=14, help="size of each of the 15 layers")
    ap.add_argument("--big-mb", type=int, default=1024)
    ap.add_argument("--out")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="archport-bench-copy-"))
    regs = []
    try:
        src, r_sk, r_ap = (Registry(work / n) for n in ("src", "skopeo", "archport"))
        regs = [src, r_sk, r_ap]
        for r in regs:
            r.start()
        # -- the 3-platform set ------------------------------------------------
        images = []
        for p in ("linux/amd64", "linux/arm64", "linux/arm/v7"):
            layers = [im.big_layer(work / f"{p.replace('/', '_')}-{i}", a.layer_mb << 20) for i in range(5)]
            images.append(im.make_image(p, layers))
        top = im.make_index(images)
        total = sum(b.size for i in images for b in i.blobs())
        lay = im.write_layout(work / "layout", {"set": (top, images)})
        im.push(lay, "set", f"{src.host}/bench/set:1")
        for f in work.glob("linux_*"):
            f.unlink()
        shutil.rmtree(lay)
        times = {"archport": [], "skopeo": []}
        for n in range(a.rounds):
            # Every round copies into empty registries: skopeo's blob-info
            # cache would otherwise mount blobs it saw in an earlier round.
            order = ["archport", "skopeo"] if n % 2 == 0 else ["skopeo", "archport"]
            for who in order:
                fresh = Registry(work / f"{who}-{n}")
                fresh.start()
                try:
                    if who == "archport":
                        wall, _ = run(archport("copy", f"{src.host}/bench/set:1", f"{fresh.host}/bench/set:1"))
                    else:
                        wall, _ = run(skopeo_copy(f"{src.host}/bench/set:1", f"{fresh.host}/bench/set:1"))
                finally:
                    fresh.stop()
                    shutil.rmtree(fresh.root, ignore_errors=True)
                times[who].append(wall)
        import statistics
        best = {k: min(v) for k, v in times.items()}
        med = {k: statistics.median(v) for k, v in times.items()}
        copy = {"bytes": total, "layers_per_platform": 5, "platforms": 3, "rounds": a.rounds,
                "archport_s": times["archport"], "skopeo_s": times["skopeo"],
                "ratio_best": best["archport"] / best["skopeo"],
                "ratio_median": med["archport"] / med["skopeo"]}

        # -- re-copy 8 images already there ----------------------------------
        small = []
        for i in range(8):
            t, imgs = im.multiarch(work / f"s{i}", f"img{i}")
            small.append((f"bench/small{i}:1", t, imgs))
            l = im.write_layout(work / f"sl{i}", {"t": (t, imgs)})
            im.push(l, "t", f"{src.host}/bench/small{i}:1")
            im.push(l, "t", f"{r_ap.host}/bench/small{i}:1")
        from archport.copy import copy_image
        from archport.reference import parse
        from archport.registry.store import RegistrySink, RegistrySource
        client = src.client()
        reqs = {"n": 0}
        import logging

        class Count(logging.Handler):
            def emit(self, record):
                msg = record.getMessage()
                if msg.split(" ")[0] in ("GET", "HEAD", "PUT", "POST", "PATCH"):
                    reqs.setdefault(msg.split(" ")[0], 0)
                    reqs[msg.split(" ")[0]] += 1
        log = logging.getLogger("archport.registry")
        log.addHandler(Count())
        log.setLevel(logging.DEBUG)
        t0 = time.perf_counter()
        results = [copy_image(RegistrySource(client, parse(f"{src.host}/{name}")),
                              RegistrySink(client, parse(f"{r_ap.host}/{name}")), name=None)
                   for name, _, _ in small]
        recopy_s = time.perf_counter() - t0
        log.setLevel(logging.WARNING)
        assert all(r.unchanged for r in results)
        cli_walls = [run(archport("copy", f"{src.host}/{n}", f"{r_ap.host}/{n}"))[0] for n, _, _ in small]
        recopy = {"images": 8, "library_s": recopy_s, "requests": {k: v for k, v in reqs.items() if k != "n"},
                  "cli_wall_s_total": sum(cli_walls)}

        # -- peak RSS with a 1 GB layer ---------------------------------------
        bigl = im.big_layer(work / "big", a.big_mb << 20)
        bimg = im.make_image("linux/amd64", [bigl])
        blay = im.write_layout(work / "biglay", {"big": (bimg.manifest, [bimg])})
        bigl.path.unlink()
        wall_ap, rss_ap = run(archport("copy", f"oci:{blay}:big", f"{r_ap.host}/bench/big:1"))
        wall_sk, rss_sk = run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{blay}:big",
                               f"docker://{r_sk.host}/bench/big:1"])
        rss = {"layer_bytes": bigl.size, "archport_peak_rss_mb": rss_ap / 1024, "skopeo_peak_rss_mb": rss_sk / 1024,
               "archport_s": wall_ap, "skopeo_s": wall_sk}
        out = {"copy": copy, "recopy": recopy, "rss": rss}
        print(json.dumps(out, indent=2))
        if a.out:
            Path(a.out).write_text(json.dumps(out, indent=2))
        ok = min(copy["ratio_best"], copy["ratio_median"]) <= 1.0 and recopy_s <= 0.5 and rss["archport_peak_rss_mb"] <= 150
        print("targets:", "met" if ok else "MISSED")
        return 0 if ok else 1
    finally:
        for r in regs:
            r.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
