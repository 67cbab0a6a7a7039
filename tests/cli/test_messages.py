"""Failure messages that say what to do next."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from archport.catalog import load as load_catalog
from archport.toolchain.substitute import refusal_hint
from standins import images as im
from tests.support.cli import archport
from archport.cli.main import build_parser
from tests.cli.test_help import _examples, _parsers
from tests.support.gobuild import go_binary


def test_a_plain_http_registry_reached_over_https_names_plain_http(registry_plain, tmp_path):
    """Loopback names get plain HTTP on their own (after HTTPS is answered in
    plain text), so the registry is named 0.0.0.0:PORT: Linux delivers a
    connection to 0.0.0.0 to this machine, but it is not a loopback *name*,
    so archport speaks HTTPS to it as to any remote registry."""
    repo = f"msg-{uuid.uuid4().hex[:6]}/app"
    img = im.make_image("linux/amd64", [im.layer_from_files({"f": b"x"})])
    im.push(im.write_layout(tmp_path / "l", {"1": (img.manifest, [img])}), "1", f"{registry_plain.host}/{repo}:1")
    host = registry_plain.host.replace("127.0.0.1", "0.0.0.0")
    p = archport("inspect", f"{host}/{repo}:1", expect=1)
    assert len(p.stderr.strip().splitlines()) == 1
    assert f"--plain-http {host}" in p.stderr and "does not speak TLS" in p.stderr
    # doing what it says works
    archport("--plain-http", host, "inspect", "--platform", "linux/amd64", f"{host}/{repo}:1")


def test_doctor_from_a_garbage_tar_is_one_line(tmp_path):
    bad = tmp_path / "dump.tar"
    bad.write_bytes(b"\x00not a tar\xff" * 300)
    p = archport("doctor", "--from", str(bad), expect=2)
    assert p.stderr.strip().count("\n") == 0
    assert "not a readable dump archive" in p.stderr


@pytest.mark.parametrize("module, version, flag", [
    ("github.com/rancher/local-path-provisioner", "v0.0.21", "--substitute local-path-provisioner=v0.0.30"),
    ("sigs.k8s.io/metrics-server", "v0.5.2", "--substitute metrics-server=v0.8.0"),
])
def test_a_refused_module_version_is_answered_with_a_version_to_pass(module, version, flag):
    """k3s 1.24's local-path-provisioner and metrics-server versions are
    refused by the public module proxy: the hint names one it serves, not
    NAME=VERSION to guess."""
    hint = refusal_hint(load_catalog(), module, version)
    assert flag in hint and "=VERSION" not in hint, hint


def test_every_proposed_substitute_is_served_by_the_module_proxy(tmp_path):
    """What the catalog proposes, the module proxy this machine uses lists
    (the same proxy `port` fetches through)."""
    proposals = {(s.module, s.version) for c in load_catalog().components for s in c.substitutes}
    assert len(proposals) >= 3
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local",
           "GOPROXY": subprocess.run([go_binary(), "env", "GOPROXY"], capture_output=True, text=True,
                                     check=True).stdout.strip(),
           "GOMODCACHE": str(tmp_path / "mod"), "GOCACHE": str(tmp_path / "cache")}
    for module, version in sorted(proposals):
        # The version's .info (not the module's list, which a proxy may refuse on its own).
        cp = subprocess.run([go_binary(), "list", "-m", "-json", f"{module}@{version}"], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=120)
        assert cp.returncode == 0, cp.stderr
        assert json.loads(cp.stdout)["Version"] == version


def test_help_examples_name_plain_http_where_they_reach_a_plain_http_registry():
    """The README's registry speaks plain HTTP; archport speaks HTTPS to any
    registry that is not loopback unless told, so an example that reaches it
    without --plain-http fails as written."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    plain = set(re.findall(r"--plain-http (\S+)", readme))
    assert plain
    for name, parser in _parsers(build_parser()):
        for argv in _examples(parser.format_help()):
            words = argv[:argv.index("--")] if "--" in argv else argv
            for host in plain:
                if any(w == host or w.startswith(host + "/") for w in words):
                    given = {words[i + 1] for i, w in enumerate(words[:-1]) if w == "--plain-http"}
                    assert host in given, f"{name}: {' '.join(argv)}"


def test_a_port_that_did_nothing_says_nothing_was_ported_and_why():
    from archport.cli.render import unfinished
    cause = "cannot reach registry r.invalid: this machine cannot resolve its name (r.invalid); it is offline"
    line = unfinished([(False, "failed", cause)] * 8, rerun=False)
    assert line == "nothing ported: all 8 images failed (cannot reach registry r.invalid: this machine cannot " \
                   "resolve its name (r.invalid))"
    assert "0 of" not in line
    line = unfinished([(True, "ported", "")] * 3 + [(False, "failed", "a"), (False, "blocked", "b")], rerun=True)
    assert line == "partial port: 3 of 5 images done, 1 failed and 1 blocked (each one's reason is above); " \
                   "rerun to continue"


def test_doctor_names_pasted_text_not_a_dash():
    line = ('E1207 10:00:00.000000 1 remote_image.go:238] "PullImage from image service failed" err="no match '
            'for platform in manifest: not found" image="example.invalid/team/pause:3.6"')
    p = archport("doctor", "--from", "-", input=line + "\n", expect=1)
    first = p.stdout.splitlines()[0]
    assert first.startswith("pasted text (linux/riscv64):") and not first.startswith("-"), p.stdout


def test_doctor_pause_fix_names_the_drop_in_deploy_writes():
    from archport.doctor import fixes
    from archport.node.paths import DROPIN
    for cause, sandbox in (("no-platform", True), ("sandbox", False)):
        text = " ".join(fixes.render(cause, sandbox=sandbox, platform="linux/riscv64", image="x"))
        assert "--pause-image" in text and DROPIN in text, text


def test_deploy_prints_no_bare_board_names_before_its_table():
    p = archport("deploy", "--registry", "127.0.0.1:5000", "--host", "root@127.0.0.1:1", "--host",
                 "root@127.0.0.1:2", "--dry-run", expect=1)
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["board", "status"], p.stdout
    assert p.stdout.count("root@127.0.0.1:1") == 1          # its row; its reason is the note under the table
