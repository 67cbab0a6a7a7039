"""audit on a node whose CPU is known: an image that offers linux/riscv64 but
was built for a higher profile than the board's does not fit it.

Real Go binaries (GORISCV64=rva22u64 and rva20u64) in images on a loopback
registry of this module's own; the node is a collected dump (the doctor
fixture's) on a JH7110's /proc/cpuinfo and hwcaps."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from archport.cli.main import main
from archport.node import facts as F
from standins import images as ti
from tests.support.registry import Registry

FIX = Path(__file__).resolve().parents[1] / "fixtures"
HIGH, BASE = "isafit/app:rva22", "isafit/app:rva20"


@pytest.fixture(scope="module")
def fit_registry(tmp_path_factory, isa_programs):
    reg = Registry(tmp_path_factory.mktemp("fit-registry"))
    reg.start()
    try:
        tmp = tmp_path_factory.mktemp("fit-images")
        for name, prog in ((HIGH, "go-rva22u64"), (BASE, "go-rva20u64")):
            img = ti.make_image("linux/riscv64", [ti.layer_from_files(
                {"usr/bin/app": (isa_programs[prog].read_bytes(), 0o755)})], config={"Entrypoint": ["/usr/bin/app"]})
            layout = ti.write_layout(tmp / prog, {"t": (ti.make_index([img]), [img])})
            ti.push(layout, "t", f"{reg.host}/{name}")
        yield reg
    finally:
        reg.stop()


def node_dump(tmp: Path) -> Path:
    d = tmp / "dump"
    shutil.copytree(FIX / "doctor" / "healthy", d)
    text = (d / "kubectl.json").read_text()
    text = text.replace("rancher/mirrored-coredns-coredns:1.9.1", HIGH)
    text = text.replace("rancher/local-path-provisioner:v0.0.21", BASE)
    (d / "kubectl.json").write_text(text)
    boards = FIX / "boards"
    (d / "cpuinfo.txt").write_text((boards / "jh7110.cpuinfo").read_text() + "\n" + F.AUXV_MARK + "\n"
                                   + (boards / "jh7110.auxv").read_text())
    return d


def audit(capsys, reg, dump, *extra):
    rc = main(["audit", "--from", str(dump), "--platform", "linux/riscv64", "--mirror", f"docker.io={reg.host}",
               "--mirror-only", *extra])
    return rc, capsys.readouterr().out


def test_an_image_built_above_the_boards_profile_does_not_fit(fit_registry, tmp_path, capsys):
    rc, out = audit(capsys, fit_registry, node_dump(tmp_path), "--json")
    doc = json.loads(out)
    assert rc == 1
    assert doc["board"].startswith("RVA20U64, isa rv64imafdc_")
    rows = {i["image"]: i for i in doc["images"]}
    high, base = rows[f"docker.io/{HIGH}"], rows[f"docker.io/{BASE}"]
    assert high["status"] == "unfit" and high["has_node_platform"] is True
    assert high["isa"]["fits"] is False and high["isa"]["needs"] == "rva22u64"
    (b,) = high["isa"]["lacking"]
    assert b["path"] == "/usr/bin/app" and b["lacking"][:4] == ["zbs", "zfhmin", "zicbom", "zicboz"]
    assert "GORISCV64=rva22u64" in b["built_by"]
    assert base["status"] == "ok" and base["isa"]["fits"] is True and base["isa"]["needs"] == "rva20u64"
    assert f"docker.io/{HIGH}" in doc["missing"] and f"docker.io/{BASE}" not in doc["missing"]


def test_the_table_says_sigill_and_the_rebuild(fit_registry, tmp_path, capsys):
    rc, out = audit(capsys, fit_registry, node_dump(tmp_path))
    assert rc == 1
    flat = " ".join(out.split())
    assert "(CPU RVA20U64, isa rv64imafdc_" in flat and "SIGILL" in flat
    assert "does not fit the board's CPU: /usr/bin/app needs zbs, zfhmin, zicbom, zicboz" in flat
    assert f"archport port {HIGH} --arch riscv64 --rebuild --profile rva20 --to REGISTRY" in flat


def test_without_the_registry_nothing_is_said_about_the_fit(fit_registry, tmp_path, capsys):
    rc, out = audit(capsys, fit_registry, node_dump(tmp_path), "--json", "--no-registry")
    doc = json.loads(out)
    assert doc["board"] is None and all(i["isa"] is None for i in doc["images"])
