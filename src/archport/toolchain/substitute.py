"""When the exact version cannot be fetched: the substitution policy (pure).

A module proxy may refuse a version outright (the one reachable here answers
403 for traefik v2.6.2, helm-set-status v0.1.2, helm-mapkubeapis), and a
private proxy elsewhere may do the same.  Another version is then built only
when the user names it (``port --substitute NAME=VERSION``); the catalog may
propose one (``[[substitute]]`` in a component, with its reason and source),
never applied on its own.  What was really built, instead of what, and why,
goes into the result and the image's annotations.

Any strategy that rebuilds Go modules can apply it: these are the pieces.
"""

from __future__ import annotations

from typing import Any, Mapping

#: The image annotation that records what was built instead of what, and why.
ANNOTATION = "io.archport.substituted"


def names(module: str, binary: str = "") -> tuple[str, ...]:
    """What ``--substitute NAME=`` may call a module: its path, its last
    element without a major-version suffix (``github.com/traefik/traefik/v2``
    → ``traefik``), and the binary's file name."""
    parts = module.split("/")
    short = parts[-2] if len(parts) > 1 and parts[-1][:1] == "v" and parts[-1][1:].isdigit() else parts[-1]
    out = [module, short]
    if binary:
        out.append(binary.rsplit("/", 1)[-1])
    return tuple(dict.fromkeys(out))


def chosen(substitutes: Mapping[str, str], module: str, binary: str = "") -> tuple[str, str] | None:
    """(the NAME the user wrote, the VERSION) for this module, or None."""
    return next(((k, substitutes[k]) for k in names(module, binary) if k in substitutes), None)


def proposal(catalog: Any, module: str, version: str):
    """The catalog's proposed substitute for ``module@version``, or None."""
    return next((p for c in getattr(catalog, "components", ()) if (p := c.substitute_for(module, version))), None)


def reversion(ldflags: str, old: str, new: str) -> str:
    """-X values that carried the old version carry the new one (with or
    without the leading v), so the binary reports what it is."""
    if not ldflags:
        return ldflags
    return ldflags.replace(old, new).replace(old.removeprefix("v"), new.removeprefix("v"))


def refusal_hint(catalog: Any, module: str, version: str, binary: str = "") -> str:
    """What to pass when ``module@version`` cannot be fetched: the catalog's
    proposal when it has one, else the form of ``--substitute``."""
    keys = names(module, binary)
    short = keys[min(1, len(keys) - 1)]
    prop = proposal(catalog, module, version)
    if prop is not None:
        return f"the catalog proposes {module} {prop.version} ({prop.reason}): pass --substitute {short}={prop.version}"
    return f"pass --substitute {short}=VERSION to build another version (recorded in the result and the image)"
