"""The static table of strategies port tries (no discovery, no fallbacks)."""

from __future__ import annotations

from archport.port.run import ORDER, load_strategies
from archport.strategies.cached import Cached

NAMES = [s.name for s in ORDER]


def test_the_strategies_in_order_the_compiling_ones_cached():
    assert NAMES[:6] == ["present", "mirror", "go", "release", "c", "deb"]
    assert len(set(NAMES)) == len(NAMES)
    assert {"go", "c"} <= {s.name for s in ORDER if isinstance(s, Cached)}
    assert all(callable(s.consider) and callable(s.build) for s in ORDER)


def test_selection():
    assert [s.name for s in load_strategies(None)] == NAMES
    assert [s.name for s in load_strategies(("go",))] == ["present", "go"]          # present always
    assert [s.name for s in load_strategies(("go",), rebuild=True)] == ["go"]
    assert [s.name for s in load_strategies(None, rebuild=True)] == [n for n in NAMES if n not in ("present", "mirror")]
