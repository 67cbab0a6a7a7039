"""Alpine package names → Debian package names, from ``catalog/packages.toml``.

The table is catalog data (a source beside every name); this module only
reads it and applies it.  A name the table does not know is reported, never
guessed: the transplant then refuses with the package named.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

from ..catalog.model import Provenance
from ..catalog import CatalogError


@dataclass(frozen=True, slots=True)
class Mapped:
    alpine: str
    debian: tuple[str, ...]
    source: Provenance


@dataclass(frozen=True, slots=True)
class PackageMap:
    entries: tuple[Mapped, ...]

    def debian_for(self, names: tuple[str, ...] | list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(Debian packages to install, Alpine names the table does not know)."""
        by = {m.alpine: m for m in self.entries}
        wanted: list[str] = []
        unknown: list[str] = []
        for n in names:
            m = by.get(n)
            if m is None:
                unknown.append(n)
                continue
            wanted += [d for d in m.debian if d not in wanted]
        return tuple(wanted), tuple(unknown)

    def source_of(self, alpine: str) -> Provenance | None:
        return next((m.source for m in self.entries if m.alpine == alpine), None)


def load_map(text: str | None = None) -> PackageMap:
    if text is None:
        text = resources.files("archport.catalog").joinpath("packages.toml").read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CatalogError(f"packages.toml: {e}") from None
    entries = []
    for i, t in enumerate(doc.get("map") or []):
        where = f"packages.toml map #{i + 1}"
        unknown = set(t) - {"alpine", "debian", "source", "verified", "note"}
        if unknown:
            raise CatalogError(f"{where}: unknown keys {sorted(unknown)}")
        if not isinstance(t.get("alpine"), str) or not isinstance(t.get("debian"), list) \
                or not isinstance(t.get("source"), str) or not t["source"].startswith("https://"):
            raise CatalogError(f"{where}: needs alpine (string), debian (list) and an https source")
        verified = bool(t.get("verified", True))
        if not verified and not t.get("note"):
            raise CatalogError(f"{where}: an unverified entry needs a note")
        entries.append(Mapped(t["alpine"], tuple(t["debian"]), Provenance(t["source"], verified, t.get("note", ""))))
    names = [m.alpine for m in entries]
    if len(names) != len(set(names)):
        raise CatalogError("packages.toml: an Alpine name is mapped twice")
    return PackageMap(tuple(entries))
