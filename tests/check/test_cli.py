"""``archport check`` end to end through the CLI entry point."""

from __future__ import annotations

import json

from archport.cli.main import main

from .images import files, layout
from standins import shared

MANIFESTS = str(shared.MANIFESTS)
LPP = "docker.io/rancher/local-path-provisioner:v0.0.21"


def run(capsys, *argv) -> tuple[int, dict | str]:
    code = main(["check", *argv])
    out = capsys.readouterr().out
    return code, (json.loads(out) if "--json" in argv else out)


def test_pass_and_fail_exit_codes(tmp_path, capsys, hello):
    good = layout(tmp_path, [files({"usr/bin/hello": (hello["riscv64"], 0o755)})], {"Cmd": ["hello"]}, name="good")
    code, doc = run(capsys, f"oci:{tmp_path / 'good'}:v1", "--json")
    assert code == 0 and doc["ok"] and doc["platform"] == "linux/riscv64"
    assert doc["contracts"][0]["argv"] == ["hello"]
    bad = layout(tmp_path, [files({"hello": (hello["riscv64"], 0o755)})], {"Cmd": ["hello"]}, name="bad")
    code, text = run(capsys, f"oci:{tmp_path / 'bad'}:v1")
    assert code == 1
    assert 'exec: "hello": executable file not found in $PATH' in text


def test_manifests_directory_supplies_command(tmp_path, capsys, hello):
    # The upstream image runs /local-path-provisioner by ENTRYPOINT, but the k3s
    # manifest says `command: [local-path-provisioner, ...]`: it needs PATH.
    layout(tmp_path, [files({"local-path-provisioner": (hello["riscv64"], 0o755)})],
           {"Entrypoint": ["/local-path-provisioner"]}, name="lpp")
    img = f"oci:{tmp_path / 'lpp'}:v1"
    assert run(capsys, img, "--json")[0] == 0
    code, doc = run(capsys, img, "--manifests", MANIFESTS, "--image-name", "rancher/local-path-provisioner:v0.0.21", "--json")
    assert code == 1
    (c,) = doc["contracts"]
    assert c["source"].startswith("local-storage.yaml: Deployment kube-system/local-path-provisioner")
    assert c["argv"] == ["local-path-provisioner", "start", "--config", "/etc/config/config.json"]
    assert c["findings"][0]["runtime_error"] == 'exec: "local-path-provisioner": executable file not found in $PATH'
    layout(tmp_path, [files({"usr/bin/local-path-provisioner": (hello["riscv64"], 0o755)})],
           {"Entrypoint": ["local-path-provisioner"]}, name="fixed")
    code, doc = run(capsys, f"oci:{tmp_path / 'fixed'}:v1", "--manifests", MANIFESTS, "--image-name", LPP, "--json")
    assert code == 0, doc


def test_coredns_args_keep_the_entrypoint(tmp_path, capsys, hello):
    layout(tmp_path, [files({"coredns": (hello["riscv64"], 0o755)})], {"Entrypoint": ["/coredns"]}, name="cd")
    code, doc = run(capsys, f"oci:{tmp_path / 'cd'}:v1", "--manifests", MANIFESTS,
                    "--image-name", "rancher/mirrored-coredns-coredns:1.9.1", "--json")
    assert code == 0
    assert doc["contracts"][0]["argv"] == ["/coredns", "-conf", "/etc/coredns/Corefile"]


def test_manifests_pod_spec_file(tmp_path, capsys, hello):
    layout(tmp_path, [files({"bin/sh": (hello["riscv64"], 0o755), "script/setup": (b"#!/bin/sh\n", 0o644)})],
           {"Cmd": ["sh"]}, name="bb")
    pod = tmp_path / "helper.yaml"
    pod.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: helper-pod}\nspec:\n  containers:\n"
                   "  - name: helper-pod\n    image: rancher/mirrored-library-busybox:1.34.1\n"
                   "    command: [/bin/sh, /script/setup]\n")
    code, doc = run(capsys, f"oci:{tmp_path / 'bb'}:v1", "--manifests", str(pod), "--container", "helper-pod", "--json")
    assert code == 0 and doc["contracts"][0]["argv"] == ["/bin/sh", "/script/setup"]


def test_bad_input_exits_2(tmp_path, capsys, hello):
    layout(tmp_path, [files({"x": b""})], name="img")
    img = f"oci:{tmp_path / 'img'}:v1"
    assert main(["check", img, "--platform", "plan9/amd64"]) == 2
    assert main(["check", img, "--manifests", MANIFESTS]) == 2            # which container?
    assert main(["check", img, "--manifests", MANIFESTS, "--image-name", "rancher/nothing:1"]) == 2
    assert main(["check", f"oci:{tmp_path / 'missing'}:v1"]) == 2
    (tmp_path / "img" / "index.json").write_text("{not json")
    assert main(["check", img]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no container in" in err


def test_missing_platform_exits_1(tmp_path, capsys):
    layout(tmp_path, [files({"x": b""})], platform="linux/amd64", name="amd")
    code, doc = run(capsys, f"oci:{tmp_path / 'amd'}:v1", "--json")
    assert code == 1 and doc["findings"][0]["code"] == "platform-missing" and doc["contracts"] == []
