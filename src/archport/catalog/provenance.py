"""Where a catalog fact comes from, and how a catalog value is shown as JSON.

The bottom of the catalog's own modules: :mod:`.model` and :mod:`.releases`
both use these, and neither needs the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .versions import Version


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a fact is stated upstream, and whether we read it there ourselves."""

    url: str
    verified: bool = True
    note: str = ""


def jsonable(value):
    """A catalog value as JSON data: a :class:`~.versions.Range` as its text, a
    :class:`~.versions.Version` as its string, tuples as lists."""
    if isinstance(value, dict):
        if set(value) == {"text", "constraints"}:  # a Range
            return value["text"] or "*"
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Version):
        return str(value)
    return value
