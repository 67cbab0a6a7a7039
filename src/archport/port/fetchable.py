"""Whether the Go modules a strategy would build can be fetched at all.

``--explain`` must not predict a success the build cannot have: a module
proxy may refuse a version outright (HTTP 403 or 410; the Go command
treats 404 and 410 as "not here", https://go.dev/ref/mod#goproxy-protocol),
and then the transplant or go strategy stops there.  This reads only each
version's ``.info`` (a few hundred bytes), never the zip, and says for each
module: fetchable, refused (with the proxy's answer), or not asked (no
proxy reachable, so unknown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..fetch.goproxy import escape, proxy_list
from ..toolchain import substitute


@dataclass(frozen=True, slots=True)
class Module:
    module: str
    version: str
    binary: str = ""          # the file it becomes in the image, when the catalog names one


def wanted(component, tag: str, strategy: str) -> list[Module]:
    """The Go modules ``strategy`` would fetch for ``component`` at image
    ``tag``, as far as the catalog names them."""
    if component is None:
        return []
    version = component.upstream_version(tag)       # the module version a tag names (1.9.1 -> v1.9.1)
    if strategy == "go":
        g = component.go_build(tag)
        return [Module(g.module, version)] if g is not None else []
    if strategy == "transplant":
        return [Module(b.module, b.version or version, b.path)
                for b in component.binaries if component.binary(tag, b.path) is b]
    return []


def answer(http, proxies: list[str], m: Module, direct: bool = False) -> tuple[bool | None, str]:
    """(True, "") when a proxy serves ``m``; (False, why) when every proxy
    refuses it; (None, why) when none could be asked, or when they only said
    "not here" (404, 410) and ``direct`` (a version control fetch) follows,
    which the go command then tries."""
    refusals, unknown, absent = [], [], True
    for proxy in proxies:
        url = f"{proxy}/{escape(m.module)}/@v/{m.version}.info"
        if url.startswith("file://"):
            if Path(unquote(urlsplit(url).path)).is_file():
                return True, ""
            refusals.append("not in the file proxy")
            continue
        try:
            r = http.get(url, timeout=30)
        except Exception as e:       # httpx's transport errors: the proxy could not be asked
            unknown.append(f"{type(e).__name__}")
            continue
        if r.status_code == 200:
            return True, ""
        refusals.append(f"HTTP {r.status_code}")
        absent = absent and r.status_code in (404, 410)
    if refusals and direct and absent and not unknown:
        return None, "the module proxy does not have it; a direct fetch from its repository was not tried"
    if refusals:
        return False, "the module proxy answers " + ", ".join(dict.fromkeys(refusals))
    return None, "no module proxy could be asked" + (f" ({', '.join(unknown)})" if unknown else "")


def blocked(env, component, tag: str, strategy: str) -> tuple[str, str, list[str]]:
    """(reason, next step, notes) when ``strategy`` cannot fetch a module it
    needs and no ``--substitute`` names another version; ("", "", notes)
    otherwise.  The notes say what was asked and what a substitute changes."""
    modules = wanted(component, tag, strategy)
    if not modules or env.http is None:
        return "", "", []
    proxies = proxy_list(env.go.env)
    direct = "direct" in _entries(env.go.env.get("GOPROXY"))
    refused, hints, notes = [], [], []
    for m in modules:
        ok, why = answer(env.http, proxies, m, direct)
        name = substitute.names(m.module, m.binary)[-1]     # the binary's file name, else the module's short name
        if ok is None:
            notes.append(f"{name}: {m.module}@{m.version} not checked ({why})")
            continue
        if ok:
            continue
        given = substitute.chosen(env.go.substitutes, m.module, m.binary)
        if given is not None:
            notes.append(f"{name}: {m.module}@{m.version} cannot be fetched ({why}); "
                         f"--substitute {given[0]}={given[1]} builds that version instead")
            continue
        refused.append(f"{name}: {m.module}@{m.version} cannot be fetched ({why})")
        hint = substitute.refusal_hint(env.catalog, m.module, m.version, m.binary)
        if substitute.proposal(env.catalog, m.module, m.version) is None:
            why_here = _catalog_note(component, tag, m)
            hint = f"{why_here.rstrip('.')}; {hint}" if why_here else hint
        hints.append(hint)
    if not refused:
        return "", "", notes
    return (f"{strategy} would stop: " + "; ".join(refused),
            "; ".join(dict.fromkeys(hints)), notes)


def _entries(text: str | None) -> list[str]:
    """GOPROXY's entries; unset is the go command's default (a proxy, then direct)."""
    if text is None:
        return ["proxy", "direct"]
    return [e.strip() for e in text.replace("|", ",").split(",") if e.strip()]


def _catalog_note(component, tag: str, m: Module) -> str:
    """What the catalog records about fetching this binary's module: the
    sentences of its note that speak of the proxy."""
    for b in component.binaries:
        if b.module == m.module and component.binary(tag, b.path) is b and b.source.note:
            said = [x.strip() for x in re.split(r"(?<=\.)\s+", b.source.note) if "proxy" in x]
            return f"the catalog: {' '.join(said)}" if said else ""
    return ""
