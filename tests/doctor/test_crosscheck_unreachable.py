"""The registry cross-check when this machine cannot resolve the registry:
plain words, one try per host, and the node's own evidence beside it."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path


from archport.doctor import analyze, crosscheck
from archport.node import collect
from archport.platform import parse as P
from archport.reference import DEFAULT_DOMAIN
from archport.registry.errors import unreachable_error
from archport.registry.hosts import api_host
from tests.support.cli import archport

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"


def test_an_unreachable_host_is_tried_once_and_its_other_images_are_not():
    calls = []
    lock = threading.Lock()
    gone = unreachable_error("reg.invalid", "reg.invalid")

    def lookup(image):
        with lock:
            calls.append(image)
        if image.startswith("reg.invalid/"):
            raise gone
        return [P("linux/amd64")]

    images = [f"reg.invalid/team/app{i}:1" for i in range(5)] + ["127.0.0.1:5000/a:1", "127.0.0.1:5000/b:1"]
    out = crosscheck.lookup_all(images, lookup)
    assert sum(c.startswith("reg.invalid/") for c in calls) == 1
    assert sorted(c for c in calls if c.startswith("127.")) == ["127.0.0.1:5000/a:1", "127.0.0.1:5000/b:1"]
    assert all(out[i] is gone for i in images[:5]) and out["127.0.0.1:5000/b:1"] == [P("linux/amd64")]


def test_the_report_says_it_in_plain_words_and_points_at_the_nodes_own_evidence():
    rep = analyze.analyze(collect.read(FIX / "broken-riscv64"))
    images = crosscheck.images_to_check(rep)
    err = unreachable_error(api_host(DEFAULT_DOMAIN), DEFAULT_DOMAIN)
    crosscheck.cross_check(rep, {i: err for i in images})
    doc = json.dumps(rep.to_dict())
    assert "Errno" not in doc
    notes = [n for n in rep.notes if n.startswith("registry cross-check")]
    assert len(notes) == 1, rep.notes
    note = notes[0]
    net = next(i for i, g in enumerate(rep.groups, 1) if g.cause == "network" and g.host == DEFAULT_DOMAIN)
    assert f"cannot reach registry {DEFAULT_DOMAIN}" in note and f"see {net} (" in note
    assert "dial tcp" in note                                   # the node's own words
    assert "the board cannot reach the registry" in note
    # the exact commands: a mirror, or an airgap import
    assert f"--arch riscv64 --to <your-registry>/<prefix>" in note and "registries.yaml" in note
    assert "--to oci:./ported --airgap archport.tar.zst" in note and "/var/lib/rancher/k3s/agent/images/" in note
    for g in rep.groups:
        for entry in g.platforms.values():
            assert entry["unreachable"] == DEFAULT_DOMAIN and "see the note below" in entry["error"]


def test_doctor_offline_is_fast_and_plain(tmp_path):
    t = time.monotonic()
    p = archport("doctor", "--from", str(FIX / "broken-riscv64"), wrap=("unshare", "-n"), expect=1)
    assert time.monotonic() - t < 5
    assert "Errno" not in p.stdout + p.stderr
    assert p.stdout.count(f"registry cross-check: cannot reach registry {DEFAULT_DOMAIN}") == 1, p.stdout
    assert "the board cannot reach the registry" in p.stdout
