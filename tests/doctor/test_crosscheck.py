"""Registry cross-check: pure with a fake lookup, then the real registry."""

import json
import threading
import time
from pathlib import Path

from archport.cli.main import main
from archport.doctor import analyze, crosscheck
from archport.node import collect
from archport.errors import NotFound
from archport.platform import parse as P
from standins import images as ti

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"


def report(name="broken-riscv64"):
    return analyze.analyze(collect.read(FIX / name))


def test_cross_check_is_pure_and_names_the_port_command():
    rep = report()
    assert crosscheck.images_to_check(rep) == sorted({
        "rancher/klipper-helm:v0.7.3-build20220613", "rancher/local-path-provisioner:v0.0.21",
        "rancher/mirrored-coredns-coredns:1.9.1", "rancher/mirrored-metrics-server:v0.5.2",
        "traefik/whoami:v1.8.0"})
    results = {
        "rancher/mirrored-metrics-server:v0.5.2": [P("linux/amd64"), P("linux/arm64"), P("linux/arm/v7")],
        "rancher/mirrored-coredns-coredns:1.9.1": [P("linux/amd64"), P("linux/riscv64")],
        "traefik/whoami:v1.8.0": NotFound(404, ("MANIFEST_UNKNOWN",), "", "manifest v1.8.0"),
    }
    crosscheck.cross_check(rep, results)
    g = {x.cause: x for x in rep.groups}
    ms = g["network"].platforms["rancher/mirrored-metrics-server:v0.5.2"]
    assert ms == {"platforms": ["linux/amd64", "linux/arm64", "linux/arm/v7"], "has_node_platform": False}
    # unreachable today, and even once reachable there is no riscv64: say how to make it
    assert any("has no linux/riscv64 variant in the registry either" in f
               and "archport port rancher/mirrored-metrics-server:v0.5.2" in f for f in g["network"].fix)
    assert g["no-platform"].platforms["rancher/mirrored-coredns-coredns:1.9.1"]["has_node_platform"]
    assert any("now lists linux/riscv64" in c for c in g["no-platform"].consequences)
    assert "MANIFEST_UNKNOWN" in g["wrong-arch"].platforms["traefik/whoami:v1.8.0"]["error"]


def test_one_lookup_per_distinct_image_in_parallel():
    calls, active, peak = [], [0], [0]
    lock = threading.Lock()

    def lookup(image):
        with lock:
            calls.append(image)
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return [P("linux/amd64")]

    # One registry per image: a registry is first asked for one image (one
    # that cannot be resolved is not asked again), so parallelism is across
    # registries first (test_crosscheck_unreachable.py).
    a, b, c, d = "a.test/a:1", "b.test/b:1", "c.test/c:1", "d.test/d:1"
    images = [a, b, c, a, d, b]
    t = time.monotonic()
    out = crosscheck.lookup_all(images, lookup)
    assert sorted(calls) == [a, b, c, d] and set(out) == {a, b, c, d}
    assert peak[0] == 4 and time.monotonic() - t < 0.6


def _seed(tmp_path, host):
    """Fixture images standing in for the rancher/… ones."""
    pause = ti.multiarch(tmp_path / "src", "pause", platforms=("linux/amd64", "linux/arm64"))
    ms = ti.multiarch(tmp_path / "src", "ms", platforms=("linux/amd64", "linux/arm64", "linux/riscv64"))
    whoami = ti.make_image("linux/amd64", [ti.layer_from_files({"whoami": b"\x7fELF amd64 only\n"})])
    other = ti.multiarch(tmp_path / "src", "other", platforms=("linux/amd64", "linux/arm64"))
    layout = ti.write_layout(tmp_path / "layout", {"pause": pause, "ms": ms, "other": other,
                                                   "whoami": (whoami.manifest, [whoami])})
    ti.push(layout, "pause", f"{host}/rancher/mirrored-pause:3.6")
    ti.push(layout, "ms", f"{host}/rancher/mirrored-metrics-server:v0.5.2")
    ti.push(layout, "whoami", f"{host}/traefik/whoami:v1.8.0")
    # every image the report asks about is on the mirror, so no lookup falls through to upstream
    for name in ("rancher/mirrored-coredns-coredns:1.9.1", "rancher/local-path-provisioner:v0.0.21",
                 "rancher/klipper-helm:v0.7.3-build20220613"):
        ti.push(layout, "other", f"{host}/{name}")


def test_against_the_real_registry_through_a_mirror(registry_plain, tmp_path, capsys):
    _seed(tmp_path, registry_plain.host)
    rc = main(["doctor", "--json", "--mirror", f"docker.io={registry_plain.host}", "--mirror-only",
               "--from", str(FIX / "broken-riscv64")])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1
    g = {x["cause"]: x for x in doc["groups"]}
    assert g["network"]["platforms"]["rancher/mirrored-metrics-server:v0.5.2"] == {
        "platforms": ["linux/amd64", "linux/arm64", "linux/riscv64"], "has_node_platform": True}
    # a single-arch tag: its platform comes from the config blob
    assert g["wrong-arch"]["platforms"]["traefik/whoami:v1.8.0"] == {
        "platforms": ["linux/amd64"], "has_node_platform": False}
    assert g["no-platform"]["platforms"]["rancher/mirrored-coredns-coredns:1.9.1"] == {
        "platforms": ["linux/amd64", "linux/arm64"], "has_node_platform": False}

    rc = main(["doctor", "--json", "--mirror", f"docker.io={registry_plain.host}", "--mirror-only",
               "--from", str(FIX / "pause-missing")])
    doc = json.loads(capsys.readouterr().out)
    pause = doc["groups"][0]
    assert pause["platforms"]["rancher/mirrored-pause:3.6"] == {
        "platforms": ["linux/amd64", "linux/arm64"], "has_node_platform": False}
    assert pause["fix"][0].startswith("archport port rancher/mirrored-pause:3.6")
