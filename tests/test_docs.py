"""The documents say what the code does: the code layout in CONTRIBUTING.md
is tests/test_depcheck.py's LAYERS, the README's command table follows
``archport --help``, and every option in a shell example of the README and
docs/testbed.md is one that command's ``--help`` lists."""

from __future__ import annotations

import importlib.util
import re
import shlex
from functools import cache
from pathlib import Path

import pytest

from tests.support.cli import archport
from tests.test_depcheck import LAYERS

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
EXAMPLES = (README, REPO / "docs" / "testbed.md")


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def _table_rows(section: str) -> list[list[str]]:
    """The body rows of the first Markdown table in ``section``, as cells
    (``\\|`` inside a cell is a literal bar)."""
    lines = section.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[2:]]


@cache
def _help(*command: str) -> str:
    return archport(*command, "--help").stdout


def _commands() -> list[str]:
    """The commands in the order ``archport --help`` lists them."""
    return re.findall(r"^    ([a-z]+)\s", _help(), re.M)


def test_code_layout_is_the_depcheck_layers():
    section = _section((REPO / "CONTRIBUTING.md").read_text(), "## Code layout")
    listed = []
    for _layer, units in _table_rows(section):
        while re.search(r"\([^()]*\)", units):                     # descriptions go
            units = re.sub(r"\([^()]*\)", "", units)
        listed.append(tuple(re.findall(r"`([a-z_][a-z0-9_]*)`", units)))
    assert tuple(listed) == LAYERS


def test_readme_commands_follow_the_help():
    section = _section(README.read_text(), "## Commands")
    named = [re.match(r"`archport ([a-z]+)", row[0]).group(1) for row in _table_rows(section)]
    assert named == _commands()


def _example_commands() -> list[tuple[str, str, list[str]]]:
    """(document, command, its words) for every archport command line in a
    ``sh`` block; the program may be named by a path, after ``sudo``."""
    found = []
    for doc in EXAMPLES:
        for block in re.findall(r"```sh\n(.*?)```", doc.read_text(), re.S):
            for line in block.splitlines():
                for part in re.split(r"&&|;", line.split(" #")[0]):
                    words = shlex.split(part.replace("$", ""), comments=True)
                    if words and words[0] == "sudo":
                        words = words[1:]
                    if words and words[0].endswith("archport") and len(words) > 1:
                        found.append((doc.name, words[1], words[2:]))
    return found


def test_every_example_command_is_a_command():
    examples = _example_commands()
    assert {"doctor", "audit", "port", "deploy", "verify"} <= {c for _d, c, _w in examples}
    unknown = [(d, c) for d, c, _w in examples if c not in _commands()]
    assert not unknown


@pytest.mark.parametrize("command", ["doctor", "audit", "port", "deploy", "verify", "collect"])
def test_example_options_are_in_the_help(command):
    text = _help(command)
    for doc, c, words in _example_commands():
        if c != command:
            continue
        for w in words:
            option = w.split("=")[0]
            if re.fullmatch(r"--[a-z][a-z0-9-]*|-[a-zA-Z]", option):
                assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text), \
                    f"{doc}: archport {command} {option} is not in its --help"


def test_the_recording_runs_the_walkthrough():
    """scripts/record-journey.py runs docs/testbed.md's journey, command for command."""
    spec = importlib.util.spec_from_file_location("record_journey", REPO / "scripts" / "record-journey.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    recorded = [" ".join(c.split()) for c, _expect, _timeout in script.STEPS + script.AFTER
                if c.startswith("archport ")]
    walkthrough = _section((REPO / "docs" / "testbed.md").read_text(), "## The journey, by hand")
    block = re.search(r"```sh\n(.*?)```", walkthrough, re.S).group(1)
    shown = [" ".join(line.split(" #")[0].split()) for line in block.splitlines() if line.startswith("archport ")]
    assert recorded == shown
