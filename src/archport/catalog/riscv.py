"""RISC-V profiles and extensions, as reviewed data (``riscv.toml``).

Two sides meet here.  A binary *needs* extensions (its ``Tag_RISCV_arch``,
or the profile its Go build info's ``GORISCV64`` names); a board *has*
extensions (its ``/proc/cpuinfo`` ``isa`` line and hwcaps).  Both sets are
first closed under the implications (``g`` is ``imafd_zicsr_zifencei``, V
brings ``zve64d``…), then compared on the extensions a program can die of:
hints and memory-system properties never raise SIGILL, so they never fail
a check (``[non_trapping]``).

* :func:`lowest_profile` — the lowest of RVA20U64, RVA22U64, RVA23U64 whose
  mandates (with what every RISC-V Linux provides) cover a need;
* :func:`met_profile` — the highest of them a board's extensions meet;
* :func:`missing` — what a need lacks on a board.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Iterable

from ..errors import BadInput
from .loader import CatalogError

# The image annotation that records the profile a port built riscv64 code for.
ANNOTATION = "io.archport.riscv.profile"
DEFAULT = "rva20u64"                # what port builds for unless told otherwise


@dataclass(frozen=True, slots=True)
class Profile:
    name: str                       # "rva22u64"
    short: str                      # "rva22", as --profile takes it
    mandatory: frozenset[str]
    source: str
    gcc_march: str = ""             # -march= for GCC
    zig_mcpu: str = ""              # -mcpu= for zig cc

    @property
    def title(self) -> str:
        return self.name.upper()       # the spec's spelling, RVA22U64


@dataclass(frozen=True, slots=True)
class Quirk:
    mvendorid: int
    marchid: int
    drop: frozenset[str]
    add: frozenset[str]
    source: str


@dataclass(frozen=True, slots=True)
class Riscv:
    profiles: tuple[Profile, ...]   # lowest first
    go_default: str
    go_values: dict[str, str]       # GORISCV64 value -> profile name
    linux_always: frozenset[str]
    linux_with_i: frozenset[str]
    rules: tuple[tuple[frozenset[str], frozenset[str]], ...]
    aliases: frozenset[str]
    non_trapping: frozenset[str]
    quirks: tuple[Quirk, ...]


def _names(v, where: str) -> frozenset[str]:
    if not isinstance(v, list) or not all(isinstance(x, str) and x == x.lower() for x in v):
        raise CatalogError(f"riscv.toml {where}: expected a list of lower-case extension names")
    return frozenset(v)


def _source(t: dict, where: str) -> str:
    s = t.get("source")
    if not isinstance(s, str) or not s.startswith("https://"):
        raise CatalogError(f"riscv.toml {where}: every table needs a source URL")
    return s


def parse(text: str) -> Riscv:
    try:
        return _parse(tomllib.loads(text))
    except tomllib.TOMLDecodeError as e:
        raise CatalogError(f"riscv.toml: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise CatalogError(f"riscv.toml: missing or malformed {e}") from None


def _parse(d: dict) -> Riscv:
    profiles = tuple(Profile(p["name"], p["short"], _names(p["mandatory"], f"profile {p['name']}"),
                             _source(p, f"profile {p['name']}"), p["gcc_march"], p["zig_mcpu"])
                     for p in d["profile"])
    go, linux, imp, nt = d["go"], d["linux"], d["implies"], d["non_trapping"]
    for where, t in (("[go]", go), ("[linux]", linux), ("[implies]", imp), ("[non_trapping]", nt)):
        _source(t, where)
    known = {p.name for p in profiles}
    if go["default"] not in known or not set(go["values"].values()) <= known:
        raise CatalogError("riscv.toml [go]: a GORISCV64 value names an unknown profile")
    rules = tuple((_names(r["when"], "implies"), _names(r["then"], "implies")) for r in imp["rules"])
    aliases = frozenset(r["when"][0] for r in imp["rules"] if r.get("alias"))
    quirks = tuple(Quirk(int(q["mvendorid"]), int(q["marchid"]), _names(q["drop"], "quirk"),
                         _names(q["add"], "quirk"), _source(q, "quirk")) for q in d.get("quirk", []))
    return Riscv(profiles, go["default"], dict(go["values"]), _names(linux["always"], "linux"),
                 _names(linux["with_i"], "linux"), rules, aliases, _names(nt["names"], "non_trapping"), quirks)


@functools.cache
def load() -> Riscv:
    return parse(resources.files(__package__).joinpath("riscv.toml").read_text("utf-8"))


# --- sets ------------------------------------------------------------------------

def closure(extensions: Iterable[str], data: Riscv | None = None) -> frozenset[str]:
    """The extensions and everything they imply."""
    data = data or load()
    have = set(extensions)
    changed = True
    while changed:
        changed = False
        for when, then in data.rules:
            if when <= have and not then <= have:
                have |= then
                changed = True
    return frozenset(have - data.aliases)


def minimal(extensions: Iterable[str], data: Riscv | None = None) -> tuple[str, ...]:
    """``extensions`` without those the others imply (V, not V and its Zve*/Zvl*), sorted."""
    data = data or load()
    given = set(extensions)
    return tuple(sorted(e for e in given if e not in closure(given - {e}, data)))


def trapping(extensions: Iterable[str], data: Riscv | None = None) -> frozenset[str]:
    """Those of ``extensions`` whose absence makes an instruction trap."""
    data = data or load()
    return frozenset(e for e in extensions if e not in data.non_trapping)


def linux_provides(extensions: Iterable[str], data: Riscv | None = None) -> frozenset[str]:
    """A board's extensions with what its kernel guarantees added, closed."""
    data = data or load()
    have = set(extensions) | data.linux_always
    if "i" in have:
        have |= data.linux_with_i
    return closure(have, data)


def profile_extensions(p: Profile, data: Riscv | None = None) -> frozenset[str]:
    """What code built for ``p`` may use on Linux (its mandates, closed)."""
    return linux_provides(p.mandatory, data)


def missing(needed: Iterable[str], have: Iterable[str], data: Riscv | None = None) -> tuple[str, ...]:
    """The extensions a program needs that a board lacks and it can die of, sorted."""
    data = data or load()
    lacking = closure(needed, data) - linux_provides(have, data)
    return minimal(trapping(lacking, data), data)


def lowest_profile(needed: Iterable[str], data: Riscv | None = None) -> Profile | None:
    """The lowest profile whose code may use everything ``needed`` uses; None
    when no profile does (a vendor extension, or one beyond RVA23U64)."""
    data = data or load()
    need = trapping(closure(needed, data), data)
    for p in data.profiles:
        if need <= profile_extensions(p, data):
            return p
    return None


def beyond(needed: Iterable[str], p: Profile, data: Riscv | None = None) -> tuple[str, ...]:
    """What ``needed`` uses beyond profile ``p`` (sorted, trapping only)."""
    data = data or load()
    return minimal(trapping(closure(needed, data) - profile_extensions(p, data), data), data)


def met_profile(have: Iterable[str], data: Riscv | None = None) -> Profile | None:
    """The highest profile whose trapping mandates a board's extensions meet."""
    data = data or load()
    board = linux_provides(have, data)
    best = None
    for p in data.profiles:
        if trapping(profile_extensions(p, data), data) <= board:
            best = p
    return best


def profile(name: str, data: Riscv | None = None) -> Profile:
    """A profile by its name or short name (``rva22``, ``rva22u64``, ``RVA22U64``)."""
    data = data or load()
    key = name.strip().lower()
    for p in data.profiles:
        if key in (p.name, p.short):
            return p
    raise BadInput(f"unknown RISC-V profile {name!r}; known: {', '.join(p.short for p in data.profiles)}")


def go_profile(goriscv64: str, data: Riscv | None = None) -> Profile | None:
    """The profile a Go binary's ``GORISCV64`` names (the default when empty);
    None for a value this catalog does not know."""
    data = data or load()
    name = data.go_values.get(goriscv64 or data.go_default)
    return profile(name, data) if name else None


def goriscv64_for(p: Profile, data: Riscv | None = None) -> str:
    """The GORISCV64 value that builds Go code for profile ``p``."""
    data = data or load()
    for value, name in data.go_values.items():
        if name == p.name:
            return value
    raise BadInput(f"Go has no GORISCV64 value for {p.title}")


def apply_quirks(extensions: Iterable[str], mvendorid: int | None, marchid: int | None,
                 data: Riscv | None = None) -> tuple[frozenset[str], tuple[Quirk, ...]]:
    """A board's extensions after the vendor quirks its IDs match, and those quirks."""
    data = data or load()
    have = frozenset(extensions)
    used = []
    for q in data.quirks:
        if mvendorid == q.mvendorid and marchid == q.marchid and q.drop & have:
            have = (have - q.drop) | q.add
            used.append(q)
    return have, tuple(used)


# --- building for a profile ----------------------------------------------------------

def compiler_flags(kind: str, profile_name: str, goarch: str) -> list[str]:
    """The flags that make a C compiler (``gcc`` | ``zig``) emit code for a
    profile; none for another architecture."""
    if goarch != "riscv64":
        return []
    p = profile(profile_name)
    return [f"-mcpu={p.zig_mcpu}"] if kind == "zig" else [f"-march={p.gcc_march}", "-mabi=lp64d"]


def annotation(goarch: str, profile_name: str) -> dict[str, str]:
    """``{ANNOTATION: profile}`` for a riscv64 build, else nothing."""
    return {ANNOTATION: profile(profile_name).name} if goarch == "riscv64" else {}
