"""The fixups engine: which catalog fixups a module needs, and when (pure).

A fixup (``catalog/fixups.toml``) names a dependency, the versions that
break, the good version, the symptom a build shows and an action.  The go
strategy asks this module two questions:

* :func:`proactive` — before building: does the module graph hold a version
  known to break with this Go or on this target?  (reflect2 v1.0.1 builds
  fine and panics at run time, so waiting for a symptom is not enough.)
* :func:`reactive` — after a failed build: does the output show a known
  symptom?  Then the fixup's dependency is bumped if the graph holds a bad
  version, else its alternative (``-ldflags=-checklinkname=0``) is tried.

Each returns :class:`Step` values; the strategy performs them (``go mod edit
-require``, ``go mod vendor``, an extra linker flag) and records each one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..catalog import versions
from ..errors import BadInput


@dataclass(frozen=True, slots=True)
class Step:
    fixup: str            # catalog id
    action: str           # "require" | "ldflags" | "vendor"
    module: str = ""
    old: str = ""
    new: str = ""         # the version to require, or the linker flag to add
    why: str = ""         # "proactive: …" | "reactive: …"

    def describe(self) -> str:
        if self.action == "require":
            return f"{self.fixup}: {self.module} {self.old} -> {self.new} ({self.why})"
        if self.action == "ldflags":
            return f"{self.fixup}: linker flag {self.new} ({self.why})"
        return f"{self.fixup}: {self.action} ({self.why})"


# -- the module graph ------------------------------------------------------------

_REQ = re.compile(r"^\s*([^\s()]+)\s+(v[^\s/]+)")


def parse_go_mod(text: str) -> dict[str, str]:
    """``require`` entries of a go.mod (single lines and blocks)."""
    out: dict[str, str] = {}
    block = False
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if block:
            if line.startswith(")"):
                block = False
                continue
            m = _REQ.match(line)
            if m:
                out[m.group(1).strip('"')] = m.group(2)
            continue
        if line.startswith("require"):
            rest = line[len("require"):].strip()
            if rest.startswith("("):
                block = True
                continue
            m = _REQ.match(rest)
            if m:
                out[m.group(1).strip('"')] = m.group(2)
    return out


def parse_modules_txt(text: str) -> dict[str, str]:
    """``# module version`` lines of vendor/modules.txt (the vendored build list)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# ") and not line.startswith("## "):
            f = line[2:].split()
            if len(f) >= 2 and f[1].startswith("v"):
                out[f[0]] = f[1]
    return out


def module_graph(moddir: Path) -> dict[str, str]:
    """The versions a build of ``moddir`` selects, as far as files tell
    (go.mod lists every dependency since go 1.17; vendor/modules.txt the
    vendored build list, which wins)."""
    graph: dict[str, str] = {}
    gomod = moddir / "go.mod"
    if gomod.is_file():
        graph.update(parse_go_mod(gomod.read_text(errors="replace")))
    vendored = moddir / "vendor" / "modules.txt"
    if vendored.is_file():
        graph.update(parse_modules_txt(vendored.read_text(errors="replace")))
    return graph


# -- decisions --------------------------------------------------------------------

def _good_is_newer(fixup, current: str) -> bool:
    try:
        return not fixup.good or versions.compare(fixup.good, current) > 0
    except BadInput:
        return False


def proactive(fixups: Iterable, graph: Mapping[str, str], go_version: str, goarch: str) -> list[Step]:
    """Bumps for dependencies the graph holds at a version known to break here."""
    steps: list[Step] = []
    for f in fixups:
        if f.is_procedure or f.action != "require":
            continue
        current = graph.get(f.module)
        if current and f.applies(f.module, current, go_version, goarch) and _good_is_newer(f, current):
            steps.append(Step(f.id, "require", f.module, current, f.good,
                              f"proactive: {f.module}@{current} is known to break ({f.symptom})"))
    return steps


def reactive(fixups: Iterable, output: str, graph: Mapping[str, str], tried: Sequence[Step]) -> list[Step]:
    """What to try after a failed build whose ``output`` shows known symptoms."""
    done = {(s.fixup, s.action) for s in tried}
    steps: list[Step] = []
    for f in fixups:
        if f.is_procedure or not f.symptom or f.symptom not in output:
            continue
        current = graph.get(f.module)
        if f.action == "require" and (f.id, "require") not in done and current \
                and f.applies(f.module, current) and _good_is_newer(f, current):
            steps.append(Step(f.id, "require", f.module, current, f.good,
                              f"reactive: the build failed with {f.symptom!r}"))
        elif (f.id, "ldflags") not in done and (flag := alternative_flag(f.alternative)):
            steps.append(Step(f.id, "ldflags", new=flag,
                              why=f"reactive: {f.symptom!r} persisted; upstream's alternative"))
    return steps


def alternative_flag(alternative: str) -> str:
    """``-ldflags=-checklinkname=0`` -> ``-checklinkname=0``; other alternatives are advice only."""
    text = alternative.strip()
    if text.startswith("-ldflags="):
        return text[len("-ldflags="):].strip("'\"")
    return ""


def vendor_procedure(fixups: Iterable) -> str:
    """The id of the catalog's re-vendoring procedure (``module = "*"``, action vendor)."""
    for f in fixups:
        if f.is_procedure and f.action == "vendor":
            return f.id
    return "vendor-consistency"


def next_steps(fixups: Iterable, graph: Mapping[str, str], tried: Sequence[Step]) -> str:
    """Advice when nothing known is left to try."""
    hints = [f.alternative for f in fixups if f.alternative and any(s.fixup == f.id for s in tried)]
    base = "read the compiler error above; add a fixup to the catalog (--catalog EXTRA.toml) with the " \
           "dependency, its bad and good versions and the symptom, or pin an older Go with --go-version"
    return "; ".join([*(f"try {h}" for h in hints), base])


__all__ = ["Step", "parse_go_mod", "parse_modules_txt", "module_graph", "proactive", "reactive",
           "alternative_flag", "vendor_procedure", "next_steps"]
