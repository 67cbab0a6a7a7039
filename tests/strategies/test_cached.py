"""Cached: the build cache as a wrapper with the strategy interface."""

from __future__ import annotations

from pathlib import Path

from archport.platform import parse as parse_platform
from archport.strategies import Decision, Outcome, Prepared, Product, run_staged
from archport.strategies.cached import Cached

from .helpers import env, upstream

RISCV = parse_platform("linux/riscv64")


class Counting:
    """A staged strategy that counts its expensive steps."""

    name = "counting"

    def __init__(self, keep: bool = True) -> None:
        self.keep, self.made, self.seen_plans = keep, 0, []

    def consider(self, up, target, e):
        return Decision(True, "always", plan="from consider")

    def build(self, up, target, e, decision=None):
        return run_staged(self, up, target, e, decision)

    def prepare(self, up, target, e, decision):
        self.seen_plans.append(decision.plan if decision else None)
        return Prepared({"v": 1, "target": str(target)}, context="ctx", label="counting: thing")

    def make(self, prepared, target, e):
        self.made += 1
        out = Path(e.workdir) / f"out-{self.made}"
        out.write_text(f"build {self.made}")
        return Product({"binary": out}, {"how": f"made {self.made}"}, keep=self.keep)

    def finish(self, up, target, e, prepared, product):
        return Outcome(self.name, product.record["how"], notes=(product.files["binary"].read_text(),))


def test_equal_inputs_make_once_and_replay_the_record(tmp_path):
    inner, lines = Counting(), []
    cached = Cached(inner)
    up = upstream("rancher/mirrored-pause:3.6", None, None)
    e = env(tmp_path, log=lines.append)
    assert cached.name == "counting" and cached.consider(up, RISCV, e).plan == "from consider"
    first = cached.build(up, RISCV, e, Decision(True, "x", plan="p"))
    second = cached.build(up, RISCV, e)
    assert inner.made == 1
    assert first.reason == second.reason == "made 1"           # the first build's record, replayed
    assert first.notes == ("build 1",)
    assert second.notes[0] == "build 1" and second.notes[1].startswith("from the build cache (")
    assert lines == ["counting: thing from the build cache"]
    assert inner.seen_plans == ["p", None]                      # the decision reaches prepare


def test_other_inputs_make_again(tmp_path):
    inner = Counting()
    cached = Cached(inner)
    up = upstream("rancher/mirrored-pause:3.6", None, None)
    cached.build(up, RISCV, env(tmp_path))
    cached.build(up, parse_platform("linux/arm64"), env(tmp_path))
    assert inner.made == 2


def test_a_product_not_worth_keeping_is_made_every_time(tmp_path):
    inner = Counting(keep=False)
    cached = Cached(inner)
    up = upstream("rancher/mirrored-pause:3.6", None, None)
    assert cached.build(up, RISCV, env(tmp_path)).reason == "made 1"
    assert cached.build(up, RISCV, env(tmp_path)).reason == "made 2"
    assert not (tmp_path / "cache" / "counting").exists()
