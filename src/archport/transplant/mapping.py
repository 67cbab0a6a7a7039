"""Alpine package names → Debian package names, and Alpine's architecture
names, from ``catalog/packages.toml``.

The table is catalog data (a source beside every name); this module only
reads it and applies it.  A name the table does not know is reported, never
guessed: the transplant then refuses with the package named.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources

from ..catalog.provenance import Provenance
from ..catalog import CatalogError


@dataclass(frozen=True, slots=True)
class Mapped:
    alpine: str
    debian: tuple[str, ...]
    source: Provenance


@dataclass(frozen=True, slots=True)
class AlpineArch:
    goarch: str                # "riscv64", "arm/v7": a platform's architecture[/variant]
    alpine: str                # "riscv64", "armv7"
    since: str                 # the first release that has it; "" for every maintained one
    source: Provenance

    def has(self, version: str) -> bool:
        """Whether Alpine ``version`` ("3.20", "edge") has this architecture."""
        if not self.since or version == "edge":
            return True
        return _release(version) >= _release(self.since)


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split(".") if x.isdigit())


@dataclass(frozen=True, slots=True)
class PackageMap:
    entries: tuple[Mapped, ...]
    arches: tuple[AlpineArch, ...] = ()

    def alpine_arch(self, goarch: str, variant: str = "") -> AlpineArch | None:
        for key in (f"{goarch}/{variant}" if variant else "", goarch):
            found = next((a for a in self.arches if key and a.goarch == key), None)
            if found is not None:
                return found
        return None

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
    """The table in ``text``, else the shipped one (read once: it is frozen)."""
    return _shipped() if text is None else _parse(text)


@functools.cache
def _shipped() -> PackageMap:
    return _parse(resources.files("archport.catalog").joinpath("packages.toml").read_text(encoding="utf-8"))


def _parse(text: str) -> PackageMap:
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
    arches = []
    for i, t in enumerate(doc.get("alpine_arch") or []):
        where = f"packages.toml alpine_arch #{i + 1}"
        unknown = set(t) - {"goarch", "alpine", "since", "source", "verified", "note"}
        if unknown:
            raise CatalogError(f"{where}: unknown keys {sorted(unknown)}")
        if not all(isinstance(t.get(k), str) for k in ("goarch", "alpine", "source")) \
                or not t["source"].startswith("https://") or not isinstance(t.get("since", ""), str):
            raise CatalogError(f"{where}: needs goarch, alpine (strings) and an https source")
        verified = bool(t.get("verified", True))
        if not verified and not t.get("note"):
            raise CatalogError(f"{where}: an unverified entry needs a note")
        arches.append(AlpineArch(t["goarch"], t["alpine"], t.get("since", ""),
                                 Provenance(t["source"], verified, t.get("note", ""))))
    return PackageMap(tuple(entries), tuple(arches))
