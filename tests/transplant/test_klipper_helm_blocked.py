"""klipper-helm v0.9.x to v0.11.x need the helm-set-status plugin, whose
module the proxy here refuses at every version: port names that blocker,
the module and the refusal, and exits 1 without building any part of the
image.  The upstream stand-in is a plain amd64 image under the real tag."""

from __future__ import annotations

import json

from standins import images as im
from tests.support.cli import archport

REF = "rancher/klipper-helm:v0.9.12-build20251215"


def test_klipper_helm_v0_9_names_the_module_that_blocks_it(registry_plain, tmp_path):
    reg = registry_plain
    tag = REF.rpartition(":")[2]
    img = im.make_image("linux/amd64", [im.layer_from_files({"usr/bin/entry": (b"#!/bin/sh\n", 0o755)})],
                        config={"Entrypoint": ["entry"], "User": "1000", "WorkingDir": "/home/klipper-helm"})
    layout = im.write_layout(tmp_path / "layout", {tag: (im.make_index([img]), [img])})
    im.push(layout, tag, f"{reg.host}/{REF}")
    cp = archport("port", REF, "--arch", "riscv64", "--to", f"{reg.host}/blocked", "--mirror",
                  f"docker.io={reg.host}", "--mirror-only", "--cache-dir", str(tmp_path / "cache"), "--json",
                  expect=1)
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "blocked" and not r["ok"], r
    reason = r["reason"]
    assert reason.startswith("not supported here: klipper-helm v0.9.12-build20251215 needs the helm-set-status"), r
    assert "(github.com/k3s-io/helm-set-status)" in reason and "403 Forbidden" in reason, reason
    transplant = [d for d in r["decisions"] if d["strategy"] == "transplant"]
    assert transplant and not transplant[0]["applies"] and transplant[0]["reason"] == reason, r["decisions"]
