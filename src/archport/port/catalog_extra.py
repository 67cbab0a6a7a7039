"""``--catalog EXTRA.toml``: the user's own catalog entries, merged with ours.

An extra file is a component file (the same keys as ``catalog/components/*.toml``)
that may also carry ``[[fixup]]`` tables, or a file of ``[[component]]`` and
``[[fixup]]`` tables.  It is validated with the catalog's own rules (every fact
needs its source), so a mistake in it is one clear line, exit 2.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

from ..catalog import Catalog, CatalogError
from ..catalog import loader
from ..errors import BadInput


def with_extras(base: Catalog, paths: list[str]) -> Catalog:
    components, fixups = list(base.components), list(base.fixups)
    for p in paths:
        try:
            doc = tomllib.loads(Path(p).read_text())
        except FileNotFoundError:
            raise BadInput(f"--catalog {p}: no such file") from None
        except tomllib.TOMLDecodeError as e:
            raise BadInput(f"--catalog {p}: {e}") from None
        try:
            for i, t in enumerate(doc.pop("fixup", [])):
                fixups = [f for f in fixups if f.id != t.get("id")] + [loader._fixup(t, f"{p} fixup[{i}]")]
            tables = doc.pop("component", [])
            if doc:
                tables = [doc, *tables]
            for i, t in enumerate(tables):
                comp = loader._component(t, f"{p} component[{i}]")
                components = [c for c in components if c.name != comp.name] + [comp]
            loader._cross_check(base.releases, tuple(components), tuple(fixups))
        except CatalogError as e:
            raise BadInput(f"--catalog {p}: {e}") from None
    return replace(base, components=tuple(components), fixups=tuple(fixups),
                   files=(*base.files, *paths))
