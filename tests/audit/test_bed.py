"""audit on the riscv64 test bed's board, over SSH, before and after deploy.

Before: the board is as installed (no registries.yaml), so every image comes
from docker.io, which this machine reaches only as the bed's UPSTREAM
registry (``--mirror docker.io=UPSTREAM --mirror-only``): amd64 and arm64,
no riscv64.  Then coredns, metrics-server and pause get a riscv64 variant in
the bed's REGISTRY, ``archport deploy --registry REGISTRY`` points the board
at it, and audit must follow the board's new registries.yaml: those three
from the mirror with riscv64, the rest still from docker.io without it.
The bed's k3s stand-in refuses ``rewrite`` (stock containerd), so the images
keep their paths in REGISTRY, where deploy's own bed test puts its runnable
ones: a tag that already offers riscv64 is used as it is.  The board's files
are put back afterwards.
"""

from __future__ import annotations

import json

import pytest

from archport.cli.main import main
from testbed import node, upstream
from standins import images as ti
from tests.testbed import board
from standins import skopeo
from standins.shared import IMAGES_TXT

RISCV = ("rancher/mirrored-coredns-coredns:1.9.1", "rancher/mirrored-metrics-server:v0.5.2",
         "rancher/mirrored-pause:3.6")
K3S_IMAGES = {line.strip() for line in IMAGES_TXT.read_text().splitlines() if line.strip()}


@pytest.fixture(scope="module")
def riscv64_in_registry(bed, tmp_path_factory):
    registry = upstream.registry(bed.lay).host
    work = tmp_path_factory.mktemp("audit-bed")
    three = ti.multiarch(work / "src", "audit-bed", platforms=("linux/amd64", "linux/arm64", "linux/riscv64"))
    layout = ti.write_layout(work / "layout", {"three": three})
    for name in RISCV:
        if not _offers_riscv64(f"{registry}/{name}"):
            ti.push(layout, "three", f"{registry}/{name}")
    return registry


def _offers_riscv64(ref: str) -> bool:
    doc = skopeo.raw_json(f"docker://{ref}", "--tls-verify=false") or {}
    return any((m.get("platform") or {}).get("architecture") == "riscv64" for m in doc.get("manifests") or ())


def audit(bed, capsys):
    up = upstream.upstream(bed.lay).host
    rc = main(["audit", "--json", *board.cli_args(bed), "--mirror", f"docker.io={up}", "--mirror-only"])
    return rc, {i["image"]: i for i in json.loads(capsys.readouterr().out)["images"]}


def test_audit_before_and_after_deploy(bed, riscv64_in_registry, capsys):
    registry = riscv64_in_registry
    rc, rows = audit(bed, capsys)
    assert rc == 1
    assert K3S_IMAGES <= set(rows), sorted(K3S_IMAGES - set(rows))
    for name in K3S_IMAGES:
        row = rows[name]
        assert row["platforms"] == ["linux/amd64", "linux/arm64"], (name, row)
        assert row["pull_from"]["default"] is True and row["has_node_platform"] is False

    etc = bed.lay.etc_k3s
    saved = {p.relative_to(etc): p.read_bytes() for p in [*etc.glob("registries.yaml*"),
                                                          *etc.glob("config.yaml.d/*")]}
    try:
        rc = main(["deploy", *board.cli_args(bed), "--registry", registry, "--yes", "--timeout", "180", "--json"])
        out = capsys.readouterr().out
        assert rc == 0, out
        rc, rows = audit(bed, capsys)
        assert rc == 1                                     # the images not ported still lack riscv64
        for name in K3S_IMAGES:
            row = rows[name]
            familiar = name.removeprefix("docker.io/")
            if familiar in RISCV:
                assert row["status"] == "ok" and "linux/riscv64" in row["platforms"], row
                assert row["pull_from"]["reference"] == f"{registry}/{familiar}"
                assert row["pull_from"]["default"] is False and row["pull_from"]["mirror"] == "docker.io"
            else:
                assert row["status"] == "missing" and row["pull_from"]["default"] is True, row
                assert row["attempts"][0]["reference"] == f"{registry}/{familiar}"      # the mirror first
    finally:
        for p in [*etc.glob("registries.yaml*"), *etc.glob("config.yaml.d/*")]:
            if p.relative_to(etc) not in saved:
                p.unlink()
        for rel, data in saved.items():
            (etc / rel).write_bytes(data)
        node.board_exec(["systemctl", "restart", "k3s"], root=bed.lay.root)
        # The pods pulled this test's riscv64 images through the mirror: they are
        # fixtures, not programs (a sandbox cannot start from that pause), so the
        # node forgets them, once the restart has taken the mirror away (before
        # it, the kubelet's next retry would pull them again).
        board.forget_images(bed, [name.split(":")[0] for name in RISCV])
