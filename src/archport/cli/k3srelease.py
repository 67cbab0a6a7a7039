"""``--k3s VERSION`` and ``--releases-url``: a k3s release's image list, read
from the release when the network allows, else kept or shipped, and one line
each saying which release was taken and where its list came from."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from ..errors import BadInput

# The environment's say, below the flag: a mirror of k3s's release files, or
# "off" (the test suite sets it so that no test reaches past loopback).
ENV = "ARCHPORT_K3S_RELEASES_URL"
OFF = "off"


def add_option(p) -> None:
    p.add_argument("--releases-url", metavar="URL|off",
                   help="where k3s publishes its release files, URL/VERSION/k3s-images.txt (default: k3s's "
                        f"GitHub releases, or ${ENV}); 'off' reads no release's list and uses the catalog's alone")


def base_url(args, ctx, catalog) -> str | None:
    """The base URL release lists are read from, None when off."""
    from ..fetch.http import check_url
    given = getattr(args, "releases_url", None)
    text = given or ctx.env.get(ENV) or ""
    if text.strip().lower() == OFF:
        return None
    if not text:
        return catalog.assets.url if catalog.assets is not None else None
    text = text.strip().rstrip("/")
    try:
        check_url(text + "/")
    except BadInput as e:
        raise BadInput(f"{'--releases-url' if given else '$' + ENV} {text}: {e}") from None
    return text


@contextmanager
def opened(args, ctx, catalog) -> Iterator:
    """A :class:`~archport.fetch.k3sreleases.Releases` for this run; its HTTP
    client verifies TLS against the system roots plus ``--ca-file``."""
    import httpx

    from ..fetch.k3sreleases import KIND, Releases, Store
    from ..registry.hosts import ssl_context
    base = base_url(args, ctx, catalog)
    root = Path(getattr(args, "cache_dir", None) or ctx.cache_dir()) / KIND
    if base is None:
        yield Releases(catalog, Store(root), None, None)
        return
    if ctx.ca_file and not os.path.isfile(ctx.ca_file):
        raise BadInput(f"--ca-file {ctx.ca_file}: no such file")
    with httpx.Client(verify=ssl_context(ctx.ca_file), timeout=httpx.Timeout(20.0, connect=5.0),
                      headers={"User-Agent": "archport"}) as http:
        yield Releases(catalog, Store(root), http, base)


def with_kept(catalog, args, ctx):
    """``catalog`` with the lists read from releases earlier in place of its
    own, without the network: for a node's own ``k3s --version``."""
    import dataclasses

    from ..catalog.releases import merged
    from ..fetch.k3sreleases import KIND, Store
    base = base_url(args, ctx, catalog)
    if base is None:
        return catalog
    kept = Store(Path(getattr(args, "cache_dir", None) or ctx.cache_dir()) / KIND).all(base)
    return dataclasses.replace(catalog, releases=merged(catalog.releases, kept)) if kept else catalog


def k3s_release(ctx, catalog, args):
    """(release, lines) for ``args.k3s``: which release it named when it named
    several, and where its image list came from (for ``say_release``)."""
    from ..fetch.k3sreleases import listed
    with opened(args, ctx, catalog) as releases:
        found = listed(releases, args.k3s)
    return found.release, "\n".join(x for x in (found.why, source_line(found)) if x)


def source_line(found, url: bool = True) -> str:
    """``k3s VERSION's image list: WHERE FROM`` (``url=False``: without the URL read)."""
    r = found.release
    at = f" ({r.source.url})" if url else ""
    if found.origin == "release":
        return f"k3s {r.version}'s image list: read from the release now{at}"
    if found.origin == "cache":
        return f"k3s {r.version}'s image list: read from the release {when(r.read_at)}{at}, kept in the cache"
    if r.inferred:
        return f"k3s {r.version}'s image list: the catalog's, inferred (not read from the release: {found.problem})"
    return (f"k3s {r.version}'s image list: the catalog's, read from the release when archport was made "
            f"(not read now: {found.problem})")


def when(read_at: str, now: datetime | None = None) -> str:
    """``on 2026-12-07 21:30 UTC, 3 days ago``."""
    try:
        t = datetime.fromisoformat(read_at.replace("Z", "+00:00"))
    except ValueError:
        return f"at {read_at}"
    return f"on {t:%Y-%m-%d %H:%M} UTC, {age(t, now)}"


def age(t: datetime, now: datetime | None = None) -> str:
    s = max(0, int(((now or datetime.now(timezone.utc)) - t).total_seconds()))
    if s < 120:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if s >= 2 * size or unit == "minute":
            n = s // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"
