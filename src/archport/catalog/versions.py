"""Version ordering for image tags, Go modules and Go toolchains (pure).

Go module versions are semantic versions (https://semver.org, section 11)
with a ``v`` prefix; pseudo-versions (https://go.dev/ref/mod#pseudo-versions)
are ordinary pre-releases whose identifier starts with a UTC timestamp, so
semver precedence orders them by time:
``v0.0.0-20190726091711-fc99dfbffb4e`` < ``v0.1.0``.  Image tags are read the
same way, leniently (``1.9.1``, ``v0.7.3-build20220613``, ``3.6``).
Build metadata (``+incompatible``, ``+k3s1``) never affects precedence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import BadInput

_VERSION_RE = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>\d+))?(?:\.(?P<patch>\d+))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?$"
)
_GO_RE = re.compile(r"^(?:go)?(?P<major>\d+)(?:\.(?P<minor>\d+))?(?:\.(?P<patch>\d+))?(?P<pre>(?:rc|beta)\d+)?$")
_PSEUDO_TIME_RE = re.compile(r"(?:^|\.)(\d{14})-[0-9a-f]{12}$")
_OPS = ("<=", ">=", "==", "!=", "<", ">", "=")


@dataclass(frozen=True, slots=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()
    build: str = ""

    @property
    def pseudo_time(self) -> str | None:
        """The ``yyyymmddhhmmss`` of a Go pseudo-version, else None."""
        m = _PSEUDO_TIME_RE.search(".".join(self.pre))
        return m.group(1) if m else None

    def __str__(self) -> str:
        s = f"v{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            s += "-" + ".".join(self.pre)
        return s + (f"+{self.build}" if self.build else "")

    def _key(self):
        # semver 11.4: a release sorts after its pre-releases; numeric
        # identifiers sort before alphanumeric ones and compare as numbers.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def __lt__(self, other: "Version") -> bool:
        return self._key() < other._key()

    def __le__(self, other: "Version") -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: "Version") -> bool:
        return self._key() > other._key()

    def __ge__(self, other: "Version") -> bool:
        return self._key() >= other._key()

    def same(self, other: "Version") -> bool:
        """Equal precedence (build metadata ignored)."""
        return self._key() == other._key()


def parse(text: str) -> Version:
    """``v1.2.3``, ``1.9.1``, ``3.6``, ``v0.0.0-20190726091711-fc99dfbffb4e``."""
    m = _VERSION_RE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise BadInput(f"invalid version {text!r}")
    pre = tuple(m.group("pre").split(".")) if m.group("pre") else ()
    return Version(int(m.group("major")), int(m.group("minor") or 0), int(m.group("patch") or 0),
                   pre, m.group("build") or "")


def parse_go(text: str) -> Version:
    """A Go toolchain version: ``go1.23.4``, ``1.23``, ``go1.21rc2``."""
    m = _GO_RE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise BadInput(f"invalid Go version {text!r}")
    pre = (m.group("pre"),) if m.group("pre") else ()
    return Version(int(m.group("major")), int(m.group("minor") or 0), int(m.group("patch") or 0), pre)


def compare(a: str | Version, b: str | Version) -> int:
    """-1, 0 or 1, like ``golang.org/x/mod/semver.Compare``."""
    va = a if isinstance(a, Version) else parse(a)
    vb = b if isinstance(b, Version) else parse(b)
    return -1 if va < vb else (1 if va > vb else 0)


@dataclass(frozen=True, slots=True)
class Range:
    """A conjunction of constraints: ``>=1.11.0``, ``<v0.1.0``, ``>=0.5.0,<0.6.0``.
    The empty range (``""`` or ``"*"``) matches everything."""

    text: str
    constraints: tuple[tuple[str, Version], ...] = ()

    def __contains__(self, version: str | Version) -> bool:
        v = version if isinstance(version, Version) else parse(version)
        return all(_holds(v, op, bound) for op, bound in self.constraints)

    def __str__(self) -> str:
        return self.text or "*"


def _holds(v: Version, op: str, bound: Version) -> bool:
    c = -1 if v < bound else (1 if v > bound else 0)
    return {"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0, "==": c == 0, "=": c == 0, "!=": c != 0}[op]


def parse_range(text: str, go: bool = False) -> Range:
    """Parse a constraint list; ``go=True`` reads bounds as Go toolchain versions."""
    text = (text or "").strip()
    if text in ("", "*"):
        return Range(text)
    out = []
    for part in text.split(","):
        part = part.strip()
        op = next((o for o in _OPS if part.startswith(o)), None)
        if op is None:
            raise BadInput(f"invalid version range {text!r}: {part!r} has no operator (<, <=, >, >=, ==, !=)")
        bound = part[len(op):].strip()
        out.append((op, parse_go(bound) if go else parse(bound)))
    return Range(text, tuple(out))


# k3s release names: the Kubernetes version it packages plus a k3s revision,
# ``v1.24.2+k3s1`` (https://docs.k3s.io/release-notes/v1.24.X).  Users name
# one as ``v1.24.2+k3s1``, ``v1.24.2`` or ``1.24`` (a minor version).
_K3S_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:\+k3s(\d+))?$")


def k3s_key(text: str) -> tuple[int, int, int | None, int | None] | None:
    """(major, minor, patch, revision) of a k3s version as users write it;
    None for a patch or revision not given, and None for anything else."""
    m = _K3S_RE.match((text or "").strip())
    if not m:
        return None
    major, minor, patch, rev = m.groups()
    return int(major), int(minor), None if patch is None else int(patch), None if rev is None else int(rev)


def pick_k3s(known: list[str], asked: str) -> tuple[str, str] | None:
    """The release in ``known`` that ``asked`` names, the way k3s names its
    releases (https://docs.k3s.io/release-notes, one tag per Kubernetes patch
    and k3s revision): ``v1.34.11+k3s1`` is that release; ``v1.34.11`` the
    newest ``+k3sN`` of it; ``v1.34`` (or ``1.34``) the newest patch, at its
    newest revision.  Returns (version, how) with how one of ``exact``,
    ``revision``, ``minor``; None when ``asked`` is no k3s version or names
    none of ``known``."""
    want = k3s_key(asked)
    if want is None:
        return None
    keyed = [(key, v) for v in known if (key := k3s_key(v)) and key[2] is not None and key[3] is not None]
    if want[3] is not None:
        if want[2] is None:
            return None
        same = [v for key, v in keyed if key == want]
        return (same[0], "exact") if same else None
    if want[2] is None:
        same = [(key, v) for key, v in keyed if key[:2] == want[:2]]
        how = "minor"
    else:
        same = [(key, v) for key, v in keyed if key[:3] == want[:3]]
        how = "revision"
    return (max(same)[1], how) if same else None


def newest_of_minor(known: list[str], asked: str) -> str | None:
    """The newest release in ``known`` of the minor version ``asked``
    (``1.24`` -> ``v1.24.6+k3s1``); None when ``asked`` is not a bare minor
    version or no release of it is known."""
    want = k3s_key(asked)
    if want is None or want[2] is not None:
        return None
    same = [(key, v) for v in known if (key := k3s_key(v)) and key[:2] == want[:2]]
    return max(same, key=lambda kv: (kv[0][2] or 0, kv[0][3] or 0))[1] if same else None


def nearest_k3s(known: list[str], asked: str) -> str | None:
    """The release in ``known`` nearest to ``asked``: in the same minor
    version the closest patch (the newer one on a tie), else the newest
    release of the closest minor version (the newer minor on a tie)."""
    want = k3s_key(asked)
    keyed = [(key, v) for v in known if (key := k3s_key(v))]
    if want is None or not keyed:
        return None

    def distance(kv):
        (major, minor, patch, rev), _ = kv
        if (major, minor) == want[:2] and want[2] is not None:
            return (0, abs((patch or 0) - want[2]), -(patch or 0), -(rev or 0))
        return (1 + abs(major - want[0]) * 1000 + abs(minor - want[1]), -minor, -(patch or 0), -(rev or 0))

    return min(keyed, key=distance)[1]
