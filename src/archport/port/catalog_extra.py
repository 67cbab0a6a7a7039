"""``--catalog EXTRA.toml``: the user's own catalog entries, merged with ours
(:func:`archport.catalog.loader.extend`); a mistake in one is one clear line,
exit 2."""

from __future__ import annotations

from pathlib import Path

from ..catalog import Catalog, CatalogError
from ..catalog.loader import extend
from ..errors import BadInput


def with_extras(base: Catalog, paths: list[str]) -> Catalog:
    for p in paths:
        try:
            text = Path(p).read_text()
        except FileNotFoundError:
            raise BadInput(f"--catalog {p}: no such file") from None
        except OSError as e:
            raise BadInput(f"--catalog {p}: {e.strerror}") from None
        try:
            base = extend(base, p, text)
        except CatalogError as e:
            raise BadInput(f"--catalog {e}") from None
    return base
