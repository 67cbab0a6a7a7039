"""The whole story on the test bed's riscv64 board, through the CLI only:
doctor → audit → port → deploy → verify, then again (nothing changes), then
the same through an airgap tarball instead of a registry.

The board is a fresh k3s v1.24.2 node (its packaged manifests from
shared/k3s/v1.24.2) whose system images come from Docker Hub, which this
machine reaches only as the bed's UPSTREAM: amd64 and arm64 only.  UPSTREAM's
coredns, local-path-provisioner and metrics-server are the real Go modules
(testbed/upstream.py; where the module proxy refuses the tag's version, the
nearest served one, which its build info names).  ``port`` rebuilds them for
riscv64 from that build info, pause from source and busybox from Debian.
UPSTREAM's klipper-lb is distro-shaped (Debian packages with a dpkg
database): ``port`` transplants it and smokes it on Debian's riscv64 kernel
under full-system emulation, where its iptables rules are checked.

What the bed cannot do is said, not passed:

* UPSTREAM's klipper-helm and traefik are tiny programs, not distro-shaped:
  ``port`` names them as not portable, with the reason (klipper-helm's real
  image also needs two helm plugins the module proxy does not serve).
  traefik's install needs klipper-helm
  (the helm-install job) and traefik's chart, which k3s serves from its own
  binary and which is not reachable here; so the journey's board runs k3s
  with ``disable: [traefik]``, as many RISC-V users do, and verify reports its
  ingress check as not run because traefik is disabled.  With no
  LoadBalancer Service, ServiceLB starts no svclb pod (and on this board,
  whose riscv64 programs run under qemu-user, its iptables could not reach
  netfilter anyway: that proof is port's kernel smoke).

The journey runs last in the session (tests/conftest.py): it starts the node
afresh (``purge``), as a new board, and puts the bed back the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from standins.gomodules import go_env
from testbed import k3s, node, upstream
from tests.support.cli import archport
from tests.testbed.board import cli_args
from standins.shared import IMAGES_TXT, MANIFESTS

pytestmark = pytest.mark.journey

PORTED = ("rancher/mirrored-coredns-coredns", "rancher/local-path-provisioner", "rancher/mirrored-metrics-server",
          "rancher/mirrored-pause", "rancher/mirrored-library-busybox", "rancher/klipper-lb")
NOT_YET = ("rancher/klipper-helm", "rancher/mirrored-library-traefik")
RUNNING = ("rancher/mirrored-coredns-coredns", "rancher/local-path-provisioner", "rancher/mirrored-metrics-server")
K3S_IMAGES = [line.strip() for line in IMAGES_TXT.read_text().splitlines() if line.strip()]
DISABLE = "disable:\n- traefik\n"


def _bring_up(bed) -> None:
    k3s.up()


@pytest.fixture(scope="module")
def fresh_board(bed, tmp_path_factory):
    """A new board (``purge``: no registries.yaml, no config, no airgap
    images, an empty REGISTRY) whose k3s runs with ``disable: [traefik]``.
    What earlier tests left on the board is put back afterwards."""
    keep = tmp_path_factory.mktemp("journey-board-files")
    etc, images_dir = bed.lay.etc_k3s, bed.lay.var_k3s / "agent" / "images"
    moved = []
    for p in [*etc.glob("registries.yaml*"), etc / "config.yaml", *sorted((etc / "config.yaml.d").glob("*")),
              *sorted(images_dir.glob("*"))]:
        if p.is_file():
            dest = keep / str(len(moved))
            shutil.copy2(p, dest)
            moved.append((p, dest))
    t0 = time.monotonic()
    _new_board(bed)
    bed.record("journey: fresh board up", time.monotonic() - t0)
    yield bed
    node.purge()
    for p, dest in moved:
        p.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dest, p)
    _bring_up(bed)


def _new_board(bed) -> None:
    node.purge()
    mine = bed.lay.etc_k3s / "config.yaml.d" / "50-journey.yaml"
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.write_text(DISABLE)
    _bring_up(bed)


@pytest.fixture(scope="module")
def reg(fresh_board) -> str:
    """The bed's REGISTRY, empty on a new board (``purge``), as in docs/testbed.md's walkthrough."""
    return upstream.registry(fresh_board.lay).host


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    """One archport cache for the whole journey (the second port and the
    airgap one find the first one's builds); go through the module proxy."""
    e = go_env({**os.environ, "PATH": f"/usr/local/go/bin:{os.environ.get('PATH', '')}"})
    e["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("journey-cache"))
    return e


def step(bed, name: str, *args: str, env: dict, expect: int | None = 0, timeout: float = 1800):
    t0 = time.monotonic()
    cp = archport(*args, env=env, expect=expect, timeout=timeout)
    bed.record(f"journey: {name}", time.monotonic() - t0)
    return cp


def _system_pods(bed) -> list[dict]:
    return [p for p in bed.kubectl_json("-n", "kube-system", "get", "pods")["items"]
            if not p["metadata"].get("deletionTimestamp")]


def _stuck(p: dict) -> bool:
    """Waiting on an image: its own, or the sandbox's (ContainerCreating)."""
    waits = [((c.get("state") or {}).get("waiting") or {}).get("reason", "")
             for c in (p["status"].get("containerStatuses") or [])]
    return any(w in ("ImagePullBackOff", "ErrImagePull") for w in waits) or (
        p["status"].get("phase") == "Pending" and (not waits or "ContainerCreating" in waits))


def _running_riscv64(bed, repo: str) -> bool:
    for p in _system_pods(bed):
        for cs in p["status"].get("containerStatuses") or []:
            if repo in cs.get("image", "") and cs.get("ready") and "running" in (cs.get("state") or {}):
                return True
    return False


def _first_state(bed) -> None:
    def settled():
        pods = [p for p in _system_pods(bed) if "helper-pod" not in p["metadata"]["name"]]
        return len(pods) >= 3 and all(_stuck(p) for p in pods)
    from tests.testbed.board import wait
    wait("every kube-system pod stuck on an image", settled, 300)


def _port(bed, reg_or_oci: str, env: dict, name: str, *extra: str) -> dict:
    up = upstream.upstream(bed.lay).host
    cp = step(bed, name, "port", "--k3s", "v1.24.2", "--arch", "riscv64", "--to", reg_or_oci, "--mirror",
              f"docker.io={up}", "--mirror-only", "--manifests", str(MANIFESTS), *extra,
              "--json", env=env, expect=None)
    doc = json.loads(cp.stdout)
    assert cp.returncode == 1, cp.stderr       # two images are not portable here: the run is incomplete
    rows = {r["image"].split(":")[0].removeprefix("docker.io/"): r for r in doc["images"]}
    assert set(rows) == set(PORTED) | set(NOT_YET), sorted(rows)
    for repo in PORTED:
        assert rows[repo]["ok"], (repo, rows[repo])
    for repo in NOT_YET:
        # named with the reason: the catalog's transplant finds no userland it can carry over
        assert not rows[repo]["ok"] and rows[repo]["status"] in ("unsupported", "failed"), (repo, rows[repo])
        assert rows[repo]["reason"] and rows[repo]["nextStep"], (repo, rows[repo])
    return {repo: rows[repo] for repo in rows}


def _attached(bed, env: dict, rows: dict) -> None:
    """Every image the port built carries an SBOM and a provenance on its
    riscv64 manifest (``inspect --provenance``), and the Go ones' binaries and
    files match them (``check --provenance`` re-derives both from the image)."""
    t0 = time.monotonic()
    for repo in PORTED:
        cp = archport("inspect", rows[repo]["destination"], "--provenance", "--json", env=env)
        (rv,) = [e for e in json.loads(cp.stdout)["platforms"] if e["platform"] == "linux/riscv64"]
        assert rv["digest"] == rows[repo]["platformDigest"], (repo, rv["digest"])
        assert rv["provenance"] and rv["provenance"]["platform"] == "linux/riscv64", (repo, rv["referrers"])
        assert rv["sbom"] and rv["sbom"]["packages"] >= 1, (repo, rv["referrers"])
    for repo in RUNNING:
        cp = archport("check", rows[repo]["destination"], "--provenance", "--json", env=env, expect=None)
        v = json.loads(cp.stdout)
        assert cp.returncode == 0 and v["ok"] and not v["problems"], (repo, v)
        assert v["platform"] == "linux/riscv64" and v["digest"] == rows[repo]["platformDigest"], (repo, v)
    bed.record("journey: inspect and check --provenance", time.monotonic() - t0)


def _deploy(bed, env: dict, name: str, *source: str) -> dict:
    cp = step(bed, name, "deploy", *cli_args(bed), *source, "--restart-pods", "--yes", "--timeout", "300", "--json",
              env=env)
    return json.loads(cp.stdout)["boards"][0]


def _all_running(bed, name: str) -> None:
    from tests.testbed.board import wait
    t0 = time.monotonic()
    wait("coredns, local-path-provisioner and metrics-server running from riscv64 images",
         lambda: all(_running_riscv64(bed, r) for r in RUNNING), 600, every=3)
    bed.record(f"journey: {name}", time.monotonic() - t0)


def _verify(bed, env: dict, name: str) -> dict:
    cp = step(bed, name, "verify", *cli_args(bed), "--timeout", "300", "--json", env=env, expect=None)
    doc = json.loads(cp.stdout)
    checks = {c["name"]: c for c in doc["boards"][0]["checks"]}
    assert cp.returncode == 0, json.dumps(checks, indent=1)
    for c in ("nodes", "pods", "dns", "storage", "metrics"):
        assert checks[c]["ok"] and not checks[c].get("skipped"), checks[c]
    assert checks["ingress"]["skipped"].startswith("traefik is disabled"), checks["ingress"]
    return checks


def test_journey_registry_then_airgap(fresh_board, reg, env, tmp_path):
    bed = fresh_board
    _first_state(bed)

    # 1. doctor names the cause of every stuck pod; audit lists the eight images, none with riscv64.
    failing = {f"kube-system/{p['metadata']['name']}" for p in _system_pods(bed) if _stuck(p)}
    cp = step(bed, "doctor", "doctor", *cli_args(bed), "--no-registry", "--json", env=env, expect=1)
    named = {p: g["cause"] for g in json.loads(cp.stdout)["groups"] for p in g["pods"]}
    assert failing <= set(named), sorted(failing - set(named))
    assert all(named[p] == "network" for p in failing), named       # Docker Hub does not resolve on the board
    up = upstream.upstream(bed.lay).host
    cp = step(bed, "audit", "audit", *cli_args(bed), "--mirror", f"docker.io={up}", "--mirror-only", "--json",
              env=env, expect=1)
    doc = json.loads(cp.stdout)
    rows = {i["image"]: i for i in doc["images"]}
    # the k3s image list less traefik's, which the board disables (k3s drops
    # traefik.yaml), and less klipper-helm: with no HelmChart left, no install job runs
    assert doc["disabled"] == ["traefik"], doc["disabled"]
    needed = {ref for ref in K3S_IMAGES if "traefik" not in ref and "klipper-helm" not in ref}
    assert set(rows) & set(K3S_IMAGES) == needed, sorted(set(rows) ^ needed)
    for ref in needed:
        assert rows[ref]["platforms"] == ["linux/amd64", "linux/arm64"] and not rows[ref]["has_node_platform"], \
            rows[ref]

    # 2. port: six of eight built, checked and smoked (klipper-lb on the
    # target's kernel); the two that are not distro-shaped here named.
    first = _port(bed, reg, env, "port (registry)")
    for repo in PORTED:
        assert first[repo]["status"] == "ported", first[repo]
    # ... each with its SBOM and provenance attached to the riscv64 manifest.
    _attached(bed, env, first)

    # 3. deploy points the board at the registry and restarts the stuck pods.
    row = _deploy(bed, env, "deploy (registry)", "--registry", reg)
    assert row["status"] == "changed" and row["restarted"] is True, row
    _all_running(bed, "pods running (registry)")

    # 4. verify: nodes, pods, DNS by the riscv64 coredns, a PVC by the riscv64
    # local-path-provisioner and busybox helper, metrics by the riscv64 metrics-server.
    checks = _verify(bed, env, "verify (registry)")
    assert any("linux/riscv64" in e for e in checks["pods"]["evidence"]), checks["pods"]

    # 5. again: nothing changes, nothing restarts.
    again = _port(bed, reg, env, "port again")
    for repo in PORTED:
        assert again[repo]["status"] == "done", again[repo]
    row = _deploy(bed, env, "deploy again", "--registry", reg)
    assert row["status"] == "unchanged" and row["restarted"] is False, row
    _verify(bed, env, "verify again")

    # 6. the same through an airgap tarball: a new board, no registry.
    _new_board(bed)
    _first_state(bed)
    tarball = tmp_path / "k3s-riscv64.tar.zst"
    _port(bed, f"oci:{tmp_path / 'oci'}", env, "port (airgap)", "--airgap", str(tarball))
    assert tarball.stat().st_size > 0
    row = _deploy(bed, env, "deploy (airgap)", "--airgap", str(tarball))
    assert row["status"] == "changed" and row["restarted"] is True, row
    assert not (bed.lay.etc_k3s / "registries.yaml").exists()
    _all_running(bed, "pods running (airgap)")
    _verify(bed, env, "verify (airgap)")
