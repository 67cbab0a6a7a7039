#!/usr/bin/env python3
"""Benchmark: doctor over a 5,000-pod / 20,000-event dump (target ≤ 1 s).

    PYTHONPATH=src python bench/bench_doctor.py [--pods 5000] [--events-per-pod 4] [--runs 3]

Generates the dump with the fixture builders (tests/fixtures/doctor/make_fixtures.py)
— a mix of the failure classes doctor knows, spread over 50 images and two
namespaces' worth of pods — then times ``collect.read`` (parse the dump) plus
``analyze.analyze`` (rules, grouping, node findings).  Registry queries are
excluded (``--no-registry``); they run in parallel, one per distinct image.
Prints one line for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from archport.doctor import analyze  # noqa: E402
from archport.node import collect  # noqa: E402


def _builders():
    spec = importlib.util.spec_from_file_location("make_fixtures", ROOT / "tests/fixtures/doctor/make_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def generate(d: Path, pods: int, events_per_pod: int) -> tuple[int, int]:
    m = _builders()
    images = [f"rancher/bench-{i:02d}:v1.{i}" for i in range(50)]
    tails = [m.NO_PLATFORM, None, "exec format error", m.PATH_MISSING, "toomanyrequests: rate"]
    objs, n_events, sbs = [m.node()], 0, []
    for i in range(pods):
        image = images[i % len(images)]
        kind = i % 6
        name = f"app-{i:05d}-7b7dc8d6f5-x{i % 97:02d}"
        if kind == 5:   # healthy
            p = m.pod("default", name, "ReplicaSet", "app", [("app", image, {"running": {}}, 0, {}, {})],
                      phase="Running", ready=True)
        else:
            p = m.pod("default" if i % 2 else "kube-system", name, "ReplicaSet", "app",
                      [("app", image, m.waiting("ImagePullBackOff", f'Back-off pulling image "{image}"'), 0, {}, {})])
        objs.append(p)
        sbs.append(m.sandbox(p))
        for j in range(events_per_pod):
            if kind == 5:
                e = m.event(p, "Started", "Started container app", "Normal")
            elif kind == 0 and j == 0:
                e = m.event(p, "FailedCreatePodSandBox", m.sandbox_failed(m.NO_PLATFORM, "NotFound"))
            elif j == 0:
                tail = tails[kind] or m.resolve_timeout(image)
                e = m.event(p, "Failed", m.pull_failed(image, tail))
            else:
                e = m.event(p, "BackOff", f'Back-off pulling image "{image}"', "Normal", 10 + j)
            objs.append(e)
            n_events += 1
    m.HERE = d.parent
    m.write_dump(d.name, objs, sbs, [], [])
    return pods, n_events


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=5000)
    ap.add_argument("--events-per-pod", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "bench-dump"
        pods, events = generate(d, a.pods, a.events_per_pod)
        size = (d / "kubectl.json").stat().st_size
        times, groups = [], 0
        for _ in range(a.runs):
            t = time.perf_counter()
            rep = analyze.analyze(collect.read(d))
            times.append(time.perf_counter() - t)
            groups = len(rep.groups)
            json.dumps(rep.to_dict())
    best, med = min(times), statistics.median(times)
    verdict = "ok" if med <= 1.0 else "OVER TARGET"
    print(f"doctor: {pods} pods / {events} events ({size / 1e6:.1f} MB kubectl JSON) -> {groups} root-cause groups "
          f"in {med:.2f} s median, {best:.2f} s best of {a.runs} (target <= 1 s, registry excluded): {verdict}")
    return 0 if med <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
