"""Every --help has examples that parse, the common options once and last,
the commands in the order of the journey, and `archport --help` imports no
command (start-up time)."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys

import pytest

from archport.catalog import load
from archport.cli.commands import BY_NAME, NAMES
from archport.cli.main import UsageError, build_parser

WORKFLOW = ["doctor", "audit", "port", "check", "smoke", "copy", "index", "airgap", "deploy", "verify",
            "inspect", "collect", "catalog", "ls"]


def _parsers(parser, prefix="archport"):
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{prefix} {name}")


def _examples(text: str) -> list[list[str]]:
    """The commands of an examples section (continuation lines joined)."""
    body = text.split("\nexamples:\n", 1)[1].replace("\\\n", " ")
    return [shlex.split(line) for line in body.splitlines() if line.strip().startswith("archport ")]


ALL = list(_parsers(build_parser()))


@pytest.mark.parametrize("name,parser", ALL, ids=[n for n, _ in ALL])
def test_every_help_has_examples_and_the_common_options_once_and_last(name, parser):
    text = parser.format_help()
    assert "\nexamples:\n" in text, name
    assert _examples(text), name
    sections = re.findall(r"^(\S[^\n]*):$", text.split("\nexamples:\n")[0], re.M)
    if "common options" in sections:
        assert sections.count("common options") == 1 and sections[-1] == "common options", (name, sections)
        usage = text.split("\n\n")[0]
        assert "[common options]" in usage and "--verify-blobs" not in usage, usage
    assert not [line for line in text.splitlines() if line != line.rstrip()], name


@pytest.mark.parametrize("name,parser", ALL, ids=[n for n, _ in ALL])
def test_every_example_names_options_the_command_has(name, parser, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for f in ("pasted.txt", "boards.yaml", "images.tar.zst", "board.tar.gz"):    # files examples name
        (tmp_path / f).write_text("x")
    (tmp_path / "k3s.yaml").write_text("clusters:\n- name: default\n  cluster:\n    server: https://127.0.0.1:6443\n")
    for argv in _examples(parser.format_help()):
        if argv[1:] == ["COMMAND", "--help"]:
            continue
        try:
            args = build_parser().parse_args(argv[1:])
        except UsageError as e:
            pytest.fail(f"{shlex.join(argv)}: {e.line}")
        version = getattr(args, "k3s", None) or (getattr(args, "version", None) if "release" in argv else None)
        if version:
            load().resolve_release(version)          # an example names a release the catalog knows


def test_commands_are_listed_in_the_order_of_the_journey():
    assert list(NAMES) == WORKFLOW
    listed = re.findall(r"^    (\w+) ", build_parser(listing=True).format_help(), re.M)
    assert listed == WORKFLOW


def test_the_listing_says_what_each_command_module_says():
    full = dict(_parsers(build_parser()))
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help == BY_NAME[choice.dest].summary, choice.dest
    assert {n.split()[1] for n in full if n.count(" ") == 1} == set(WORKFLOW)


def test_top_level_help_imports_no_command_and_no_console():
    code = ("import sys; from archport.cli.main import main; rc = main(['--help']); "
            "print(sorted(m for m in sys.modules if m.startswith(('archport.cli.cmd_', 'rich', 'httpx', "
            "'archport.registry', 'archport.port', 'archport.node')))); sys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.rstrip().splitlines()[-1] == "[]"
    assert "archport port --k3s" in p.stdout


def test_a_command_help_imports_only_that_command():
    code = ("import sys; from archport.cli.main import main; rc = main(['ls', '--help']); "
            "print(sorted(m for m in sys.modules if m.startswith('archport.cli.cmd_'))); sys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.rstrip().splitlines()[-1] == "['archport.cli.cmd_ls']"


def test_port_help_imports_no_strategy():
    code = ("import sys; from archport.cli.main import main; rc = main(['port', '--help']); "
            "print(sorted(m for m in sys.modules if m.startswith(('archport.port', 'archport.strategies', "
            "'archport.toolchain', 'httpx')))); sys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.rstrip().splitlines()[-1] == "[]"
