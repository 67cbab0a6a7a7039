"""What k3s does with the node's files, per version, read from ``behaviour.toml``.

k3s backports a change to every maintained minor line in the same month, so
"since" is a list of first tags, one per minor line.  :meth:`Behaviour.supports`
answers for a version; ``None`` when the version is unknown (a bare
``--manifests`` audit has none): callers then assume today's k3s and say so.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..errors import BadInput

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+](?:rc\d+[-+])?k3s(\d+))?")


def parse_version(text: str) -> tuple[int, int, int, int]:
    """``v1.24.2+k3s1`` → ``(1, 24, 2, 1)``; the k3s revision counts (``+k3s2`` > ``+k3s1``)."""
    m = _VERSION.match((text or "").strip())
    if not m:
        raise BadInput(f"not a k3s version: {text!r} (expected e.g. v1.24.2+k3s1)")
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4) or 0)


@dataclass(frozen=True, slots=True, order=True)
class K3sVersion:
    """A k3s release as a node reports it; ordered, printed as ``v1.24.2+k3s1``."""

    major: int
    minor: int
    patch: int
    k3s: int = 1

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}+k3s{self.k3s}"


def version_of(text: str) -> K3sVersion:
    """The version in ``v1.24.2+k3s1`` or in ``k3s --version``'s output
    (``k3s version v1.24.2+k3s1 (f4c4de8e)``, release candidates included)."""
    for word in (text or "").split():
        m = _VERSION.fullmatch(word.strip("()"))
        if m:
            return K3sVersion(int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4) or 1))
    raise BadInput(f"not a k3s version: {(text or '').strip()[:80]!r}")


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    what: str
    since: tuple[str, ...]
    source: str
    verified: bool = True
    note: str = ""

    def in_version(self, version: "str | K3sVersion") -> bool:
        """In the version's minor line: from its listed first tag on.  A line
        newer than every listed one has it; an older line, or an unlisted
        line between listed ones (unmaintained then, never backported to),
        does not."""
        v = parse_version(str(version))
        firsts = sorted(parse_version(s) for s in self.since)
        line = [f for f in firsts if f[:2] == v[:2]]
        if line:
            return v >= line[0]
        return v[:2] > firsts[-1][:2]


@dataclass(frozen=True, slots=True)
class Component:
    """A packaged component that ``disable:`` (or a flag) removes, and the
    repositories only it pulls."""
    name: str
    repositories: tuple[str, ...]
    source: str
    flag: str = ""
    verified: bool = True
    note: str = ""


@dataclass(frozen=True, slots=True)
class Behaviour:
    features: tuple[Feature, ...]
    components: tuple[Component, ...]

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    def supports(self, name: str, version: "str | K3sVersion | None") -> bool | None:
        if not version:
            return None
        return self.feature(name).in_version(version)

    def first(self, name: str) -> str:
        """The first releases that have ``name``, for a refusal's wording."""
        return " / ".join(self.feature(name).since)

    def component(self, name: str) -> Component | None:
        return next((c for c in self.components if c.name == name), None)


_FEATURE_KEYS = {"name", "what", "since", "source", "verified", "note"}
_COMPONENT_KEYS = {"name", "repositories", "source", "flag", "verified", "note"}


def parse(text: str) -> Behaviour:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"k3s behaviour data: {e}") from None
    features, components = [], []
    for t in doc.get("feature", []):
        _check(t, _FEATURE_KEYS, {"name", "what", "since", "source"})
        for s in t["since"]:
            parse_version(s)
        features.append(Feature(t["name"], t["what"], tuple(t["since"]), t["source"], bool(t.get("verified", True)),
                                t.get("note", "")))
    for t in doc.get("component", []):
        _check(t, _COMPONENT_KEYS, {"name", "repositories", "source"})
        components.append(Component(t["name"], tuple(t["repositories"]), t["source"], t.get("flag", ""),
                                    bool(t.get("verified", True)), t.get("note", "")))
    return Behaviour(tuple(features), tuple(components))


def _check(t: dict, allowed: set[str], required: set[str]) -> None:
    name = t.get("name", "?")
    if set(t) - allowed:
        raise BadInput(f"k3s behaviour data: {name}: unknown keys {sorted(set(t) - allowed)}")
    if required - set(t):
        raise BadInput(f"k3s behaviour data: {name}: missing {sorted(required - set(t))}")
    if t.get("verified") is False and not t.get("note"):
        raise BadInput(f"k3s behaviour data: {name}: an unverified fact needs a note")


@lru_cache(maxsize=1)
def load() -> Behaviour:
    return parse(resources.files(__package__).joinpath("behaviour.toml").read_text(encoding="utf-8"))
