"""Port benchmarks (issue 4, "Performance"); prints figures for BENCHMARKS.md.

1. go strategy overhead: ``archport port --strategy go --no-smoke`` of
   local-path-provisioner v0.0.30 for riscv64 next to a plain ``go build``
   of the same module for riscv64 (download + writable copy + build), each
   with its own fresh GOCACHE (the same cold cache state).
   Target: port <= go build * 1.10 + 1 s.
2. A repeated port of a whole set (8 images) whose destination already has
   everything.  Target: <= 2 s.

Run: PYTHONPATH=src:. python bench/bench_port.py   (needs docker-registry, skopeo, go)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]

from tests.support.port import HELLO_CATALOG, go_install, push_image, workspace  # noqa: E402

MODULE, VERSION = "github.com/rancher/local-path-provisioner", "v0.0.30"


def cli(*args: str, env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t = time.monotonic()
    cp = subprocess.run([sys.executable, "-m", "archport.cli.main", *args], env=env, capture_output=True, text=True)
    return time.monotonic() - t, cp


def plain_go_build(env: dict, work: Path) -> float:
    t = time.monotonic()
    cp = subprocess.run(["go", "mod", "download", "-json", f"{MODULE}@{VERSION}"], env=env, capture_output=True,
                        text=True, cwd=work, check=True)
    src = work / "src"
    shutil.copytree(json.loads(cp.stdout)["Dir"], src)
    for p in [src, *src.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)
    shutil.rmtree(src / "vendor", ignore_errors=True)   # modules.txt only, as archport does
    subprocess.run(["go", "build", "-mod=mod", "-trimpath", "-buildvcs=false", "-o", str(work / "out"), "-ldflags",
                    f"-s -w -extldflags -static -X main.VERSION={VERSION}", "."], cwd=src, check=True,
                   env={**env, "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "riscv64"})
    return time.monotonic() - t


def main() -> None:
    with workspace("bench-port-", own_gocache=False) as (tmp, reg, env):

        # 1. overhead over go build (fresh GOCACHE for each side).
        push_image(tmp, f"rancher/local-path-provisioner:{VERSION}", reg,
                   {"amd64": {"usr/bin/local-path-provisioner": (b"not the real binary\n", 0o755)}},
                   {"Cmd": ["local-path-provisioner"], "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]})
        (tmp / "plain").mkdir()
        plain = plain_go_build({**env, "GOCACHE": str(tmp / "gocache-plain")}, tmp / "plain")
        took, cp = cli("port", f"{reg.host}/rancher/local-path-provisioner:{VERSION}", "--strategy", "go",
                       "--no-smoke", "--to", f"oci:{tmp / 'out-lpp'}", "--cache-dir", str(tmp / "cache-lpp"),
                       "--json", env={**env, "GOCACHE": str(tmp / "gocache-port")})
        assert cp.returncode == 0, cp.stdout + cp.stderr
        limit = plain * 1.10 + 1
        print(f"go build alone (riscv64, cold GOCACHE)   {plain:7.2f} s")
        print(f"archport port --strategy go (same state) {took:7.2f} s  overhead {took - plain:+.2f} s "
              f"({(took / plain - 1) * 100:+.1f}%)  target <= {limit:.2f} s: {'met' if took <= limit else 'MISSED'}")

        # 2. repeated port of a whole set: 8 images already at the destination.
        cat = tmp / "hello.toml"
        cat.write_text(HELLO_CATALOG)
        bins = {a: go_install("example.test/hello@v1.2.3", a, env, tmp, "-X main.version=1.2.3") for a in
                ("amd64", "arm64")}
        per_arch = {a: {"hello": (b.read_bytes(), 0o755)} for a, b in bins.items()}
        images = []
        for i in range(8):
            tag = f"v1.2.{10 + i}"
            push_image(tmp, f"rancher/mirrored-example-hello:{tag}", reg, per_arch, {"Entrypoint": ["/hello"]})
            images.append(f"{reg.host}/rancher/mirrored-example-hello:{tag}")
        common = ["--to", f"{reg.host}/set", "--catalog", str(cat), "--cache-dir", str(tmp / "cache-set"),
                  "--no-smoke", "--json"]
        first, cp = cli("port", *images, *common, env=env)
        assert cp.returncode == 0, cp.stdout + cp.stderr
        again, cp = cli("port", *images, *common, env=env)
        assert cp.returncode == 0 and all(r["status"] == "done" for r in json.loads(cp.stdout)["images"])
        print(f"first port of 8 images (go, cached build after the first)  {first:7.2f} s")
        print(f"repeated port of the 8-image set (all done)               {again:7.2f} s  target <= 2 s: "
              f"{'met' if again <= 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
