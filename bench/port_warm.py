"""Port of a whole k3s-sized set with a warm build cache, check and smoke included.

Target (the first-hour work: "smoke without waiting"): port of the whole
v1.24.2 set (8 images) with a warm build cache into a fresh destination in
under 60 s, including check and smoke.  Before readiness signals every
server image cost a fixed 60 s of smoke on its own.

1. The set: the 8 images of shared/k3s/v1.24.2/k3s-images.txt stood in by the
   port benches' fixture component (rancher/mirrored-example-hello, built
   from tests/fixtures/gomod/hello for amd64 + arm64, 8 tags), with a
   catalog smoke recipe (its own arguments, exit 0 and an expected line).
   A first port into a throw-away destination warms the build cache; the
   timed port goes to a fresh one with the same cache: strategy, build
   (cached), check, smoke under containerd + qemu, push.
2. Server-shaped smokes, one by one (tests/fixtures/go/smokeserver for
   riscv64 under containerd + qemu binfmt): an HTTP health endpoint, a DNS
   answer, an output line, each timed from start to ready, next to the
   fixed wait a server cost before (the smoke timeout, 60 s).

Run (root, for containerd and binfmt):
    PYTHONPATH=src:. python bench/port_warm.py   (needs docker-registry, skopeo, go, containerd, qemu-user-static)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]

from archport import emulation  # noqa: E402
from archport.catalog.smoke import Signal  # noqa: E402
from archport.layout import LayoutSource  # noqa: E402
from archport.platform import RISCV64  # noqa: E402
from archport.smoke.containerd import Private  # noqa: E402
from archport.smoke.run import Options, smoke  # noqa: E402
from tests.support.port import HELLO_CATALOG, go_install, push_image, workspace  # noqa: E402
from tests.support import gobuild  # noqa: E402
from standins.images import layer_from_files, make_image, make_index, write_layout  # noqa: E402
from tests.support.registry import Registry  # noqa: E402

SET_SIZE = 8          # images in shared/k3s/v1.24.2/k3s-images.txt
TARGET = 60.0
OLD_FIXED_WAIT = 60.0
RECIPE = """
[[smoke]]
args = ["smoke"]
ready = "exit"
expect = "arch=riscv64 .*args=\\\\[smoke\\\\]"
source = "https://example.test/hello"
"""


def cli(*args: str, env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t = time.monotonic()
    cp = subprocess.run([sys.executable, "-m", "archport.cli.main", *args], env=env, capture_output=True, text=True)
    return time.monotonic() - t, cp


def whole_set(tmp: Path, reg: Registry, env: dict) -> None:
    cat = tmp / "hello-smoke.toml"
    cat.write_text(HELLO_CATALOG + RECIPE)
    bins = {a: go_install("example.test/hello@v1.2.3", a, env, tmp, "-X main.version=1.2.3") for a in
            ("amd64", "arm64")}
    per_arch = {a: {"hello": (b.read_bytes(), 0o755)} for a, b in bins.items()}
    images = []
    for i in range(SET_SIZE):
        tag = f"v1.2.{10 + i}"
        push_image(tmp, f"rancher/mirrored-example-hello:{tag}", reg, per_arch, {"Entrypoint": ["/hello"]})
        images.append(f"{reg.host}/rancher/mirrored-example-hello:{tag}")
    common = ["--arch", "riscv64", "--catalog", str(cat), "--cache-dir", str(tmp / "cache"), "--json"]
    warm, cp = cli("port", *images, "--to", f"oci:{tmp / 'warm'}", *common, env=env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    took, cp = cli("port", *images, "--to", f"{reg.host}/fresh", *common, env=env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    rows = json.loads(cp.stdout)["images"]
    assert len(rows) == SET_SIZE and all(r["status"] == "ported" for r in rows), rows
    assert all(r["check"].startswith("ok") and r["smoke"].startswith("ok") for r in rows), rows
    per = [r["seconds"] for r in rows]
    print(f"warming port of the {SET_SIZE}-image set (first build, then cached)   {warm:7.2f} s")
    print(f"port of the {SET_SIZE}-image set, warm cache, fresh destination      {took:7.2f} s  "
          f"target < {TARGET:g} s: {'met' if took < TARGET else 'MISSED'}")
    print(f"  per image (strategy, cached build, check, smoke, push)  min {min(per):.2f} s  "
          f"max {max(per):.2f} s  mean {sum(per) / len(per):.2f} s")
    print(f"  smoke cells: {sorted({r['smoke'] for r in rows})}")


def servers(tmp: Path) -> None:
    exe = gobuild.GoBuilder(tmp / "go")("tests/fixtures/go/smokeserver", "riscv64").read_bytes()
    img = make_image("linux/riscv64", [layer_from_files({"smokeserver": (exe, 0o755)})],
                     config={"Entrypoint": ["/smokeserver"], "Env": ["PATH=/usr/bin:/bin"]})
    write_layout(tmp / "server", {"v1": (make_index([img]), [img])})
    src = LayoutSource(str(tmp / "server"), "v1")
    if not emulation.status(RISCV64).ready:
        emulation.register(RISCV64)
    cases = [
        ("HTTP /healthz (metrics-server shape)", ("-cert-dir", "/tmp/c"), Signal("http", port=8080, path="/healthz")),
        ("DNS A query (coredns shape)", ("-cert-dir", "/tmp/c", "-dns", "127.0.0.1:1053"),
         Signal("dns", port=1053, query="archport.test", answer="10.43.0.10")),
        ("output line", ("-cert-dir", "/tmp/c"), Signal("output", expect="serving /healthz")),
    ]
    with Private() as ep:
        for label, args, sig in cases:
            t = time.monotonic()
            r = smoke(src, Options(containerd_address=ep.address, args=args, signal=sig, writable=("/tmp",),
                                   timeout=OLD_FIXED_WAIT))
            took = time.monotonic() - t
            assert r.ok, r
            print(f"server smoke, {label:38} ready after {r.seconds:5.2f} s, whole smoke {took:5.2f} s "
                  f"(was {OLD_FIXED_WAIT:g} s fixed)")


def main() -> None:
    with workspace("bench-port-warm-") as (tmp, reg, env):
        whole_set(tmp, reg, env)
        servers(tmp)


if __name__ == "__main__":
    main()
