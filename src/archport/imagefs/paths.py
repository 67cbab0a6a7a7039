"""Paths inside an image, and what a layer entry's name asks for.

Every reader of layers (the merged view, extraction, the go strategy's carry
step) classifies names here, so a name is judged the same way everywhere:
components are cleaned lexically against the image root (``..`` at the root
stays at the root and is reported as climbing), and a whiteout
(image-spec ``layer.md``: ``.wh.NAME`` deletes NAME from the layers below,
``.wh..wh..opq`` empties its directory) must name a file of its own directory:
``.wh.``, ``.wh..`` and ``.wh...`` (the whiteout of ``..``) are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

HOPS_MAX = 40                  # the kernel's MAXSYMLINKS: ELOOP beyond
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"

ENTRY, DELETE, EMPTY = "entry", "whiteout", "opaque"


def split(path: str) -> list[str]:
    return [c for c in path.split("/") if c not in ("", ".")]


def clean(path: str) -> tuple[list[str], bool]:
    """Lexically clean a path relative to the root: (components, climbed above root)."""
    out: list[str] = []
    climbed = False
    for c in split(path):
        if c == "..":
            if out:
                out.pop()
            else:
                climbed = True
        else:
            out.append(c)
    return out, climbed


def join(comps: list[str] | tuple[str, ...]) -> str:
    return "/" + "/".join(comps)


@dataclass(frozen=True, slots=True)
class Name:
    """A layer entry's name, judged.

    ``comps`` is the cleaned path of the entry; for a whiteout, the path it
    deletes; for an opaque marker, the directory it empties.  ``refused``
    says why the entry must not be acted on (only whiteouts are refused here:
    a climbing file name is clamped, and the caller decides whether to use
    the clamped name or to refuse it).
    """

    raw: str
    kind: str                      # ENTRY | DELETE | EMPTY
    comps: tuple[str, ...]
    climbed: bool = False          # a ``..`` went above the root (clamped)
    dotdot: bool = False           # the raw name has a ``..`` component at all
    absolute: bool = False
    refused: str = ""

    @property
    def path(self) -> str:
        return join(self.comps)


def parse_name(raw: str) -> Name:
    comps, climbed = clean(raw)
    dotdot = ".." in raw.split("/")
    absolute = raw.startswith("/")
    if not comps:
        return Name(raw, ENTRY, (), climbed, dotdot, absolute)
    base = comps[-1]
    if base == OPAQUE:
        return Name(raw, EMPTY, tuple(comps[:-1]), climbed, dotdot, absolute)
    if base.startswith(WHITEOUT):
        target = base[len(WHITEOUT):]
        refused = ""
        if target in ("", ".", ".."):
            refused = f"whiteout {raw!r} names {target or 'nothing'!r}, not a file of its directory"
        return Name(raw, DELETE, tuple(comps[:-1]) + ((target,) if not refused else ()), climbed, dotdot,
                    absolute, refused)
    return Name(raw, ENTRY, tuple(comps), climbed, dotdot, absolute)
