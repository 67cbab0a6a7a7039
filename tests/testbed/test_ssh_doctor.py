"""``archport doctor --host`` against the board, live, over SSH, unchanged:
with k3s v1.24.2's manifests applied it names the cause of every failing
kube-system pod.

Two real first states of a riscv64 board:

* as installed: the sandbox image (k3s's default pause) and every system
  image come from Docker Hub, which the board cannot resolve;
* with a pause image that runs and Docker Hub mirrored to UPSTREAM: every
  system image pulls a manifest list without linux/riscv64.
"""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from archport import reference
from testbed import paths, ssh, upstream
from tests.testbed import board

HUB = reference.parse("rancher/mirrored-pause:3.6").domain     # the registry unqualified names mean


def _doctor(bed) -> tuple[int, dict]:
    d = ssh.door(bed.lay)
    cp = subprocess.run(["archport", "doctor", "--host", "root@127.0.0.1", "-p", str(d.port), "-i", str(d.key),
                         "-o", f"UserKnownHostsFile={d.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                         "--no-registry", "--json"], capture_output=True, text=True, timeout=600)
    assert cp.returncode in (0, 1), cp.stderr
    return cp.returncode, json.loads(cp.stdout)


def _failing_system_pods(bed) -> set[str]:
    pods = bed.kubectl_json("-n", "kube-system", "get", "pods")["items"]
    return {f"kube-system/{p['metadata']['name']}" for p in pods if not p["metadata"].get("deletionTimestamp")
            and not all(c.get("ready") for c in p["status"].get("containerStatuses") or [{}])}


def _settled(bed, signal: str) -> bool:
    """Every kube-system pod shows ``signal`` in a Warning event."""
    pods = {p.split("/", 1)[1] for p in _failing_system_pods(bed)}
    if not pods:
        return False
    events = bed.kubectl_json("-n", "kube-system", "get", "events")["items"]
    seen = {e["involvedObject"]["name"] for e in events
            if e.get("type") == "Warning" and signal in (e.get("message") or "")}
    return pods <= seen


def _check(report: dict, failing: set[str], causes: set[str]) -> None:
    named = {p: g["cause"] for g in report["groups"] for p in g["pods"]}
    for pod in failing:
        assert pod in named, f"{pod}: not in doctor's report {sorted(named)}"
        assert named[pod] in causes, f"{pod}: cause {named[pod]!r}, expected one of {causes}"


@pytest.fixture(scope="module")
def first_state(bed, tmp_path_factory):
    """The board as installed: no registries.yaml, no config, no airgap
    images, none of the system images in containerd, pods created afresh.
    (The bed is shared and persistent: whatever earlier tests left is put
    aside here and put back afterwards.)"""
    keep = tmp_path_factory.mktemp("board-files")
    etc, images_dir = bed.lay.etc_k3s, bed.lay.var_k3s / "agent" / "images"
    moved = []
    for p in [etc / "registries.yaml", etc / "config.yaml", *sorted((etc / "config.yaml.d").glob("*")),
              *sorted(images_dir.glob("*"))]:
        if p.is_file():
            dest = keep / str(len(moved))
            shutil.move(p, dest)
            moved.append((p, dest))
    listed = board.run(bed, "ctr -n k8s.io images ls -q").stdout.split()
    system = [r for r in listed if r.startswith(f"{HUB}/rancher/")]
    if system:
        board.run(bed, "ctr -n k8s.io images rm " + " ".join(system))
    board.restart_k3s(bed)
    bed.kubectl("-n", "kube-system", "delete", "pods", "--all", "--wait=false")
    yield
    for p, dest in moved:
        shutil.move(dest, p)
    board.restart_k3s(bed)


@pytest.fixture(scope="module")
def files(first_state, bed):
    f = board.Files(bed)
    yield f
    f.restore()


def test_first_state_docker_hub_unreachable(bed, first_state):
    # The packaged manifests are applied as on a fresh board.
    assert bed.kubectl("-n", "kube-system", "get", "deployment", "coredns", "local-path-provisioner",
                       "metrics-server", check=False).returncode == 0
    board.wait("every kube-system pod failing on its sandbox or pull", lambda: _settled(bed, "lookup"), 240)
    failing = _failing_system_pods(bed)
    rc, report = _doctor(bed)
    assert rc == 1 and report["platform"] == "linux/riscv64"
    # The sandbox (pause) image cannot be fetched: the registry is out of reach.
    _check(report, failing, {"network"})
    assert any(g["sandbox"] for g in report["groups"] if set(g["pods"]) & failing)


def test_no_riscv64_variant_once_the_hub_is_mirrored(bed, files):
    files.put(bed.lay.etc_k3s / "config.yaml.d" / "90-archport-test-doctor.yaml",
              f"pause-image: {paths.BED_PAUSE_IMAGE}\n")
    files.put(bed.lay.etc_k3s / "registries.yaml",
              f'mirrors:\n  "{HUB}":\n    endpoint:\n      - "http://{upstream.upstream(bed.lay).host}"\n')
    board.restart_k3s(bed)
    # Fresh pods: the old ones' events still hold the DNS failures of the first state.
    bed.kubectl("-n", "kube-system", "delete", "pods", "--all", "--wait=false")
    board.wait("ImagePullBackOff without riscv64", lambda: _settled(bed, "no match for platform"), 240)
    failing = _failing_system_pods(bed)
    rc, report = _doctor(bed)
    assert rc == 1
    # Every failing pod is named with the live pull error as evidence, and its
    # cause is the missing platform: containerd.log still holds the first
    # state's "trying next host … lookup" lines (as on a real board), but the
    # upstream host is not a configured mirror, so they are history.
    _check(report, failing, {"no-platform"})
    for g in report["groups"]:
        if set(g["pods"]) & failing:
            assert any("no match for platform in manifest" in e for e in g["evidence"]), g
    images = {i for g in report["groups"] for i in g["images"]}
    assert {"rancher/mirrored-coredns-coredns:1.9.1", "rancher/local-path-provisioner:v0.0.21",
            "rancher/mirrored-metrics-server:v0.5.2"} <= images
