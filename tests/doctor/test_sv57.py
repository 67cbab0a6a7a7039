"""Sv57 kernels and Go ≤ 1.19 in the node's images: the crash text, the pure
finding, and the real thing — images whose riscv64 binaries were built by a
real go1.17.13 and by the current Go, read back from the real registry."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from archport.cli.main import main
from archport.doctor import analyze, rules, sv57
from archport.node import collect
from archport.errors import NotFound
from tests.support.gobuild import OLD_GO, go_build
from standins import images as ti

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"
OLD_IMAGE = "sv57test/coredns:1.9.1"
NEW_IMAGE = "sv57test/local-path-provisioner:v0.0.21"
ABSENT_IMAGE = "sv57test/metrics-server:v0.5.2"          # never pushed

# golang/go#54104 (a go1.18.4 riscv64 binary on a Debian 5.18 kernel under qemu, Sv57):
CRASH = ("runtime: lfstack.push invalid packing: node=0xffffff8cc2b980 cnt=0x1 packed=0xffff8cc2b9800001 "
         "-> node=0xffff8cc2b980\nfatal error: lfstack.push\n\nruntime stack:\nruntime.throw({0x5966ba, 0xc})")


def sv57_facts():
    f = collect.read(FIX / "healthy")
    return replace(f, mmu="sv57")


def test_the_runtime_crash_text_names_the_cause():
    assert rules.classify(CRASH, "Error").cause == "go-sv57"
    assert rules.classify("fatal error: lfstack.push").cause == "go-sv57"


def test_go_versions_before_120():
    assert sv57.go_before_120("go1.19.13") and sv57.go_before_120("go1.17") and sv57.go_before_120("go1.9.2")
    assert not sv57.go_before_120("go1.20") and not sv57.go_before_120("go1.22.12")
    assert not sv57.go_before_120("devel go1.23-abc") and not sv57.go_before_120("")


def test_apply_is_pure_over_probe_results():
    facts = sv57_facts()
    rep = analyze.analyze(facts)
    assert sv57.applies(facts, analyze.node_platform(facts))
    assert not sv57.applies(replace(facts, mmu="sv48"), analyze.node_platform(facts))
    results = {"rancher/mirrored-coredns-coredns:1.9.1": [("/coredns", "go1.17.8")],
               "rancher/local-path-provisioner:v0.0.21": [("/usr/bin/local-path-provisioner", "go1.21.4")],
               "rancher/klipper-helm:v0.7.3-build20220613": NotFound("manifest unknown")}
    sv57.apply(rep, facts, results, analyze.familiar)
    (g,) = [g for g in rep.groups if g.cause == "sv57-images"]
    assert g.images == ["rancher/mirrored-coredns-coredns:1.9.1"]
    assert g.pods == ["kube-system/coredns-b96499967-7xk9p"]
    assert "rancher/mirrored-coredns-coredns:1.9.1: /coredns was built with go1.17.8" in g.evidence
    assert g.fix[0].startswith("archport port rancher/mirrored-coredns-coredns:1.9.1 --arch riscv64 --rebuild")
    assert any("no5lvl" in f for f in g.fix)
    assert any("klipper-helm" in n and "could not be read" in n for n in rep.notes)
    assert not rep.healthy


def test_crashing_pods_get_the_build_info_as_evidence():
    facts = sv57_facts()
    rep = analyze.analyze(facts)
    from archport.doctor.report import Group
    rep.groups.append(Group("go-sv57", "1 pod cannot start", images=["rancher/mirrored-coredns-coredns:1.9.1"]))
    sv57.apply(rep, facts, {"rancher/mirrored-coredns-coredns:1.9.1": [("/coredns", "go1.17.8")]},
               analyze.familiar)
    assert not [g for g in rep.groups if g.cause == "sv57-images"]
    (g,) = [g for g in rep.groups if g.cause == "go-sv57"]
    assert g.evidence == ["rancher/mirrored-coredns-coredns:1.9.1: /coredns was built with go1.17.8"]


def _dump(tmp: Path) -> Path:
    """The healthy dump, on an Sv57 kernel, with two pods running the test images."""
    d = tmp / "dump"
    shutil.copytree(FIX / "healthy", d)
    (d / "mmu.txt").write_text("mmu\t\t: sv57\n")
    doc = (d / "kubectl.json").read_text()
    doc = doc.replace("rancher/mirrored-coredns-coredns:1.9.1", OLD_IMAGE)
    doc = doc.replace("rancher/local-path-provisioner:v0.0.21", NEW_IMAGE)
    doc = doc.replace("rancher/mirrored-metrics-server:v0.5.2", ABSENT_IMAGE)
    (d / "kubectl.json").write_text(doc)
    return d


def test_reads_the_images_build_info_from_the_real_registry(registry_plain, gobuild, tmp_path, capsys):
    hello = Path(__file__).resolve().parents[1] / "fixtures" / "go" / "hello"
    old = go_build(tmp_path / "old", "riscv64", {}, [], OLD_GO)
    new = gobuild(hello, "riscv64")
    amd = gobuild(hello, "amd64")
    for name, binary in ((OLD_IMAGE, old), (NEW_IMAGE, new)):
        imgs = [ti.make_image(p, [ti.layer_from_files({"bin/app": (b.read_bytes(), 0o755)})])
                for p, b in (("linux/amd64", amd), ("linux/riscv64", binary))]
        layout = ti.write_layout(tmp_path / name.replace("/", "_").replace(":", "_"), {"t": (ti.make_index(imgs), imgs)})
        ti.push(layout, "t", f"{registry_plain.host}/{name}")

    rc = main(["doctor", "--json", "--mirror", f"docker.io={registry_plain.host}", "--mirror-only",
               "--from", str(_dump(tmp_path))])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1, doc
    (g,) = [g for g in doc["groups"] if g["cause"] == "sv57-images"]
    assert g["images"] == [OLD_IMAGE] and g["pods"] == ["kube-system/coredns-b96499967-7xk9p"], g
    assert f"{OLD_IMAGE}: /bin/app was built with {OLD_GO}" in g["evidence"], g
    assert g["fix"][0].startswith(f"archport port {OLD_IMAGE} --arch riscv64 --rebuild --to "), g
    # images absent from the registry are named, not silently passed
    assert any(ABSENT_IMAGE in n and "could not be read" in n for n in doc["notes"]), doc["notes"]

    rc = main(["doctor", "--json", "--no-registry", "--from", str(_dump(tmp_path / "again"))])
    doc = json.loads(capsys.readouterr().out)
    assert not [g for g in doc["groups"] if g["cause"] == "sv57-images"]
    assert any("--no-registry" in n and "Sv57" in n for n in doc["notes"]), doc["notes"]
