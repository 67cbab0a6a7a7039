"""zig (about 400 MB) is the `build` extra, installed where port runs and
not on boards; without it the c strategy says what to install."""

from __future__ import annotations

import tomllib
from pathlib import Path

from archport.platform import parse as parse_platform
from archport.strategies import c as c_strategy
from tests.strategies.helpers import env, upstream

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_ziglang_is_an_extra_not_a_dependency():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    names = lambda reqs: {r.split(">")[0].split("=")[0].split(";")[0].strip() for r in reqs}   # noqa: E731
    assert "ziglang" not in names(project["dependencies"])
    extras = project["optional-dependencies"]
    assert "ziglang" in names(extras["build"]) and "ziglang" in names(extras["test"])


def test_without_a_compiler_the_c_strategy_says_install_archport_build(tmp_path, monkeypatch):
    monkeypatch.setattr(c_strategy, "find_compiler", lambda arch, prefer="zig": None)
    up = upstream("rancher/mirrored-pause:3.6", "pause", None)
    d = c_strategy.C().consider(up, parse_platform("linux/riscv64"), env(tmp_path))
    assert not d.applies and "install archport[build]" in d.reason, d.reason
    assert "\n" not in d.reason
