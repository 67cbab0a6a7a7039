"""Conventions every command keeps: platforms named one way, inspect's exit
code, argument errors as JSON under --json, the per-user cache."""

from __future__ import annotations

import argparse
import json
import os
import stat

import pytest

from archport.cli import args as argtypes
from archport.cli.main import COMMANDS, build_parser
from standins import images as im
from tests.support.cli import archport


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from ((f"{name} {n}", s) for n, s in _subparsers(sub))


def test_every_platform_flag_takes_os_arch_variant():
    found = []
    for name, sub in _subparsers(build_parser()):
        for action in sub._actions:
            if any("platform" in o for o in action.option_strings):
                found.append(f"{name} {action.option_strings[-1]}")
                assert action.metavar == "OS/ARCH[/VARIANT]", (name, action.option_strings)
                assert action.type in (argtypes.platform, argtypes.target_platform), (name, action.option_strings)
            if "--arch" in action.option_strings:       # the shorthand, checked as strictly
                assert action.type is argtypes.target_arch, name
    assert {"port --platform", "smoke --platform", "check --platform", "inspect --platform",
            "inspect --require-platform", "doctor --platform", "audit --platform"} <= set(found)
    assert set(COMMANDS) == {n for n, _ in _subparsers(build_parser()) if " " not in n}


@pytest.mark.parametrize("argv", [
    ["smoke", "x", "--platform", "riscv64/"], ["check", "x", "--platform", "linux"],
    ["copy", "a", "oci:/tmp/b", "--platform", "linux"], ["airgap", "a", "--out", "/tmp/a.tar", "--platform", "linux"],
    ["index", "add", "a", "b", "--platform", "linux"], ["inspect", "x", "--require-platform", "linux"],
    ["port", "x", "--to", "oci:/tmp/x", "--platform", "linux/sparc"],
])
def test_a_bad_platform_is_one_line_and_exit_2_before_any_work(argv):
    p = archport(*argv, expect=2)
    assert len(p.stderr.strip().splitlines()) == 1 and "platform" in p.stderr, p.stderr


def test_inspect_exits_0_when_it_inspected_and_require_platform_decides_1(tmp_path):
    img = im.make_image("linux/amd64", [im.layer_from_files({"bin/app": b"x"})])
    layout = im.write_layout(tmp_path / "l", {"1": (img.manifest, [img])})
    src = f"oci:{layout}:1"
    p = archport("inspect", src)
    assert "linux/riscv64 is missing" in p.stdout
    assert json.loads(archport("--json", "inspect", src).stdout)["hasWanted"] is False
    archport("inspect", src, "--require-platform", "linux/riscv64", expect=1)
    archport("--json", "inspect", src, "--require-platform", "linux/riscv64", expect=1)
    archport("inspect", src, "--require-platform", "linux/amd64")


@pytest.mark.parametrize("argv", [
    ["--json", "port", "--bogus"],                       # argparse: unknown option
    ["port", "--json", "--jobs", "0", "x"],               # argparse: a type check, --json after the command
    ["--json", "inspect", "--platform", "linux", "x"],
    ["--json", "port", "registry.invalid/a:1"],           # BadInput before any work (no --to)
    ["--json", "port", "--k3s", "v1.24.2", "a:1", "--to", "oci:/tmp/x"],
    ["--json"],                                          # no command
])
def test_argument_errors_under_json_are_one_json_document(argv):
    p = archport(*argv, expect=2)
    doc = json.loads(p.stdout)
    assert doc["exitCode"] == 2 and doc["error"] and set(doc) == {"error", "exitCode"}
    assert p.stderr.strip() == ""


def test_the_cache_is_per_user_under_xdg_cache_home_and_private(tmp_path):
    xdg = tmp_path / "xdg"
    archport("port", "registry.invalid/a/b:1", "--to", "oci:./x", cwd=tmp_path, env={"XDG_CACHE_HOME": str(xdg)},
             expect=1)
    cache = xdg / "archport"
    assert cache.is_dir() and stat.S_IMODE(cache.stat().st_mode) == 0o700
    # one left open by an older version is closed again
    os.chmod(cache, 0o755)
    archport("port", "registry.invalid/a/b:1", "--to", "oci:./x", cwd=tmp_path, env={"XDG_CACHE_HOME": str(xdg)},
             expect=1)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    # unset (or relative, which the XDG spec says to ignore): ~/.cache/archport
    home = tmp_path / "home"
    home.mkdir()
    archport("port", "registry.invalid/a/b:1", "--to", "oci:./x", cwd=tmp_path,
             env={"HOME": str(home), "XDG_CACHE_HOME": "relative/dir"}, expect=1)
    assert stat.S_IMODE((home / ".cache" / "archport").stat().st_mode) == 0o700
    assert not (tmp_path / "relative").exists()
