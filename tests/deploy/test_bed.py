"""deploy on the riscv64 test bed (tests/testbed, scripts/testbed.sh): a real
kubelet and containerd behind the k3s stand-in, reached over SSH.

The board starts as a real board does: every kube-system pull goes to
docker.io, which it cannot reach, and no tag has a riscv64 entry.  The test
puts riscv64 images under the same ``rancher/…`` names in the bed's REGISTRY
(the bed's riscv64 stand-in programs, which keep running like a server does:
this test is about deploy's mirror, not about port), runs ``archport deploy
--registry REGISTRY --restart-pods``, and watches coredns and metrics-server
pull those images through the mirror and run.  A second run changes nothing.
The same through an airgap tarball (``archport airgap`` of those images,
``deploy --airgap``): k3s v1.24.2 imports ``agent/images/`` at start.
"""

from __future__ import annotations

import json
import time

import pytest

from archport.cli.main import main
from archport.node.boards import parse_host
from archport.remote import SSH
from testbed import node, upstream
from testbed import ssh as bed_ssh
from standins import images
from tests.testbed import board

WANT = ("rancher/mirrored-coredns-coredns", "rancher/mirrored-metrics-server", "rancher/mirrored-pause")


@pytest.fixture(scope="module")
def ported(bed, tmp_path_factory):
    """riscv64 images of coredns, metrics-server and pause in REGISTRY, by digest."""
    registry = upstream.registry(bed.lay).host
    work = tmp_path_factory.mktemp("riscv64-images")
    pushed = {}
    for x in upstream.image_set(upstream.images_txt()):
        if x.repository not in WANT:
            continue
        binary = upstream._build("pause", "riscv64", work).read_bytes()    # stays up, like a server
        cfg = dict(x.config)
        cfg["Env"] = [*cfg.get("Env", []), f"STANDIN_IMAGE={x.repository}:{x.tag}"]
        img = images.make_image("linux/riscv64", [images.layer_from_files({x.binary.lstrip("/"): (binary, 0o755)})],
                                config=cfg)
        top = images.make_index([img])
        layout = images.write_layout(work / x.repository.replace("/", "_"), {"t": (top, [img])})
        images.push(layout, "t", f"{registry}/{x.repository}:{x.tag}")
        pushed[x.repository] = top.digest
    assert sorted(pushed) == sorted(WANT)
    # Whatever the node holds under these names (an earlier test's pulls) is
    # not what this test pushed: the pods must pull these.
    board.forget_images(bed, WANT)
    return registry, pushed


def _running(bed, repo: str, digest: str | None) -> bool:
    """A kube-system container of ``repo`` runs (from ``digest``, when given)."""
    pods = json.loads(node.kubectl(["get", "pods", "-n", "kube-system", "-o", "json"], bed.lay.root).stdout)
    for p in pods["items"]:
        for cs in p.get("status", {}).get("containerStatuses", []):
            if repo in cs.get("image", "") and "running" in (cs.get("state") or {}) \
                    and (digest is None or cs.get("imageID", "").endswith(digest)):
                return True
    return False


def _ssh(bed) -> SSH:
    e = bed_ssh.env(bed.lay)
    h = parse_host(e["BOARD_SSH"])
    return SSH(h.destination, (f"UserKnownHostsFile={e['BOARD_KNOWN_HOSTS']}", "IdentitiesOnly=yes"), port=h.port,
               identity=e["BOARD_SSH_KEY"])


def _forget_images(bed, pushed) -> None:
    """Leave the node as later tests expect it: the images it pulled or imported removed."""
    board.forget_images(bed, [*pushed, "archport-test"])
    node.kubectl(["-n", "kube-system", "delete", "pods", "--all", "--wait=false"], bed.lay.root)


def test_pods_pull_through_the_mirror_and_run(bed, ported, capsys):
    registry, pushed = ported
    etc = bed.lay.etc_k3s
    saved = {p.name: p.read_bytes() for p in etc.glob("registries.yaml")}
    try:
        rc = main(["deploy", *board.cli_args(bed), "--registry", registry, "--restart-pods", "--yes", "--timeout", "180",
                   "--json"])
        doc = json.loads(capsys.readouterr().out)
        assert rc == 0, doc
        row = doc["boards"][0]
        assert row["status"] == "changed" and row["restarted"] is True and row["k3s"] == "v1.24.2+k3s1"
        deadline = time.monotonic() + 180
        want = {r: d for r, d in pushed.items() if r != "rancher/mirrored-pause"}
        while want and time.monotonic() < deadline:
            want = {r: d for r, d in want.items() if not _running(bed, r, d)}
            if want:
                time.sleep(3)
        pods = node.kubectl(["get", "pods", "-n", "kube-system", "-o", "wide"], bed.lay.root).stdout
        assert not want, f"not running from the mirror: {sorted(want)}\n{pods}\n{row}"

        rc = main(["deploy", *board.cli_args(bed), "--registry", registry, "--yes", "--json"])
        again = json.loads(capsys.readouterr().out)["boards"][0]
        assert rc == 0 and again["status"] == "unchanged" and again["restarted"] is False
    finally:
        # leave the board in its first state for the bed's other tests
        for p in etc.glob("registries.yaml*"):
            if p.name not in saved:
                p.unlink()
        for name, data in saved.items():
            (etc / name).write_bytes(data)
        _ssh(bed).run("systemctl restart k3s", timeout=300)
        _forget_images(bed, pushed)     # after the restart: before it, a retry would pull them again


def test_pods_run_from_an_airgap_tarball(bed, ported, tmp_path, capsys):
    registry, pushed = ported
    names = {x.repository: f"{x.repository}:{x.tag}" for x in upstream.image_set(upstream.images_txt())
             if x.repository in WANT}
    tarball = tmp_path / "archport-riscv64.tar.zst"
    rc = main(["airgap", *sorted(names.values()), "--platform", "linux/riscv64", "--mirror",
               f"docker.io={registry}", "--mirror-only", "--out", str(tarball), "--json"])
    assert rc == 0, capsys.readouterr()
    capsys.readouterr()
    images_dir = bed.lay.var_k3s / "agent" / "images"
    before = {p.name for p in images_dir.glob("*")} if images_dir.exists() else set()
    try:
        rc = main(["deploy", *board.cli_args(bed), "--airgap", str(tarball), "--restart-pods", "--yes",
                   "--timeout", "180", "--json"])
        row = json.loads(capsys.readouterr().out)["boards"][0]
        assert rc == 0 and row["status"] == "changed" and row["restarted"] is True, row
        assert (images_dir / tarball.name).read_bytes() == tarball.read_bytes()     # verified on the board too
        deadline = time.monotonic() + 180
        want = {r for r in pushed if r != "rancher/mirrored-pause"}
        while want and time.monotonic() < deadline:
            want = {r for r in want if not _running(bed, r, None)}
            if want:
                time.sleep(3)
        pods = node.kubectl(["get", "pods", "-n", "kube-system", "-o", "wide"], bed.lay.root).stdout
        assert not want, f"not running from the airgap import: {sorted(want)}\n{pods}\n{row}"
        # no registries.yaml mirror was involved: the images came from the tarball
        assert not (bed.lay.etc_k3s / "registries.yaml").exists() or \
            registry not in (bed.lay.etc_k3s / "registries.yaml").read_text()

        rc = main(["deploy", *board.cli_args(bed), "--airgap", str(tarball), "--yes", "--json"])
        again = json.loads(capsys.readouterr().out)["boards"][0]
        assert rc == 0 and again["status"] == "unchanged" and again["restarted"] is False
    finally:
        for p in images_dir.glob("*"):
            if p.name not in before:
                p.unlink()
        _ssh(bed).run("systemctl restart k3s", timeout=300)
        _forget_images(bed, pushed)     # after the restart: before it, a retry would pull them again
