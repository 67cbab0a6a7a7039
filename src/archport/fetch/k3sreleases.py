"""k3s release image lists read from the releases themselves, and kept on disk.

k3s publishes each release's image list as a release file, ``k3s-images.txt``
(``{base}/{version}/k3s-images.txt``, :class:`~archport.catalog.releases.ReleaseAssets`).
A published release file does not change, so a list read once is kept in the
cache with the URL it came from and the time it was read, and later runs use
it without the network; the catalog shipped with archport is the fallback.

Finding releases newer than the catalog (:func:`update`) cannot use a
listing: k3s's release listing is GitHub's REST API, which a mirror or an
air-gapped network need not serve.  Instead the asset URL itself is probed, in
the order k3s names releases (https://docs.k3s.io/release-notes): for each
known minor line, further ``+k3sN`` revisions of its newest patch, then the
next patches (``+k3s1``, else ``+k3s2``) until two patch numbers in a row have
neither (k3s skips a patch now and then, e.g. no v1.24.5), then the next minor
lines from ``.0`` the same way.  Every probe is one small GET, and the walk
stops at ``limit`` requests.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx

from ..cache import key_of
from ..catalog import Catalog
from ..catalog import versions
from ..catalog.releases import (MAX_IMAGE_LIST, BadImageList, K3sRelease, merged, parse_image_list, read_release,
                                resolve)
from ..errors import ArchportError, BadInput, FetchError, TransportError
from .http import DownloadError, fetch_bytes

KIND = "k3s-releases"               # the cache's subdirectory
MISSES = 2                          # patch numbers in a row without a release end a line
REVISIONS = 2                       # +k3s1, +k3s2 tried for a patch not seen yet


class NotPublished(FetchError):
    """The release publishes no image list there (HTTP 404)."""


class ListUnreadable(FetchError):
    """The release's list could not be read (network, TLS, server or content)."""


def now_utc() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Store:
    """Lists read from releases, one JSON file each under ``CACHE_DIR/k3s-releases``,
    named by the hash of the URL read; ``root=None`` keeps nothing."""

    root: Path | None

    def _path(self, url: str) -> Path | None:
        return None if self.root is None else self.root / f"{key_of({'url': url})}.json"

    def get(self, url: str) -> K3sRelease | None:
        path = self._path(url)
        if path is None:
            return None
        try:
            return _from_record(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError, KeyError, TypeError, BadInput):
            return None

    def put(self, release: K3sRelease) -> None:
        path = self._path(release.source.url)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"version": release.version, "url": release.source.url, "readAt": release.read_at,
                  "images": list(release.images)}
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        tmp.write_text(json.dumps(record, indent=1, sort_keys=True), "utf-8")
        os.replace(tmp, path)          # a reader never sees half a record

    def all(self, base: str) -> tuple[K3sRelease, ...]:
        """Every list kept that was read under ``base`` (lists read from a
        test server or another mirror never stand in for the default's)."""
        if self.root is None or not self.root.is_dir():
            return ()
        out = []
        prefix = base.rstrip("/") + "/"
        for path in sorted(self.root.glob("*.json")):
            try:
                release = _from_record(json.loads(path.read_text("utf-8")))
            except (OSError, ValueError, KeyError, TypeError, BadInput):
                continue
            if release.source.url.startswith(prefix):
                out.append(release)
        return tuple(out)


def _from_record(doc: dict) -> K3sRelease:
    return read_release(str(doc["version"]), tuple(str(i) for i in doc["images"]), str(doc["url"]),
                        str(doc["readAt"]))


@dataclass(frozen=True, slots=True)
class Releases:
    """Where to read release lists: the asset layout, the base URL (None:
    never read one), the HTTP client and the store."""

    catalog: Catalog
    store: Store
    http: httpx.Client | None
    base: str | None

    def url(self, version: str) -> str:
        assert self.catalog.assets is not None and self.base is not None
        return self.catalog.assets.images_url(version, self.base)

    def known(self) -> tuple[K3sRelease, ...]:
        """The shipped releases, with the lists read earlier in place of theirs."""
        return merged(self.catalog.releases, self.store.all(self.base) if self.base else ())

    def read(self, version: str) -> K3sRelease:
        """Read ``version``'s list from its release and keep it."""
        if self.http is None or self.base is None or self.catalog.assets is None:
            raise ListUnreadable("reading release lists is off")
        url = self.url(version)
        try:
            text = fetch_bytes(self.http, url, limit=MAX_IMAGE_LIST).decode("utf-8")
            release = read_release(version, parse_image_list(text, url), url, now_utc())
        except DownloadError as e:
            if e.status == 404:
                raise NotPublished(f"{url}: not published (HTTP 404)") from None
            raise ListUnreadable(str(e)) from None
        except TransportError as e:
            raise ListUnreadable(f"{url}: {_reason(e)}") from None
        except (UnicodeDecodeError, BadImageList) as e:
            raise ListUnreadable(f"{url}: not an image list ({e})" if isinstance(e, UnicodeDecodeError)
                                 else str(e)) from None
        self.store.put(release)
        return release


def _reason(e: TransportError) -> str:
    """A transport failure in a few words: the OS's words without ``[Errno N]``."""
    cause = e.__cause__
    text = str(cause) if cause is not None and str(cause) else type(cause or e).__name__
    text = re.sub(r"\[Errno -?\d+\]\s*", "", text).strip()
    if isinstance(cause, httpx.TimeoutException):
        text = "timed out"
    return text[:1].lower() + text[1:]


@dataclass(frozen=True, slots=True)
class Listed:
    """The list used for a version, and where it came from."""

    release: K3sRelease
    why: str = ""                   # which release a version naming several resolved to
    origin: str = "catalog"         # "release" (read now), "cache" (read earlier), "catalog"
    problem: str = ""               # why the release's own list was not read now


def listed(releases: Releases, version: str) -> Listed:
    """The release ``version`` names (:func:`~archport.catalog.releases.resolve`
    over the catalog and the lists kept) and its list: kept, else read from
    the release now, else the catalog's.  A full release name that neither
    knows is read from the release, or is bad input."""
    kept = releases.store.all(releases.base) if releases.base else ()
    known = merged(releases.catalog.releases, kept)
    who = "the catalog or the cache" if kept else "the catalog"
    try:
        release, why = resolve(known, releases.catalog.missing, version, who)
    except BadInput as e:
        text = "v" + version.strip().removeprefix("v")
        key = versions.k3s_key(text)
        if releases.base is None or key is None:
            raise
        if key[2] is None or key[3] is None:
            if any(m.version in (text, text.split("+", 1)[0]) for m in releases.catalog.missing):
                raise
            raise BadInput(f"{e}; 'archport catalog update' reads the lists of releases newer than the "
                           f"catalog") from None
        try:
            return Listed(releases.read(text), "", "release")
        except FetchError as f:
            raise BadInput(f"{e}; its own list could not be read: {f}") from None
    if release.read_at:
        return Listed(release, why, "cache")
    try:
        return Listed(releases.read(release.version), why, "release")
    except FetchError as e:
        return Listed(release, why, "catalog", str(e))


@dataclass(frozen=True, slots=True)
class Update:
    """What :func:`update` did."""

    read: tuple[K3sRelease, ...] = ()        # lists read now, oldest first
    missing: tuple[str, ...] = ()            # shipped releases whose list is not published
    probed: int = 0                          # requests made
    stopped: str = ""                        # why the walk ended early ("" = it finished)
    lines: tuple[str, ...] = field(default=())   # minor lines walked, e.g. "v1.37"


class _Budget(ArchportError):
    """Internal to :func:`update`: the request budget ran out."""


def update(releases: Releases, limit: int = 200) -> Update:
    """Read the lists of the shipped releases whose list is inferred, then
    find and read releases newer than any known (see the module's docstring)."""
    read: list[K3sRelease] = []
    missing: list[str] = []
    count = 0
    known = {r.version: r for r in releases.known()}

    def ask(version: str) -> bool:
        nonlocal count
        if version in known and known[version].read_at:
            return True
        if count >= limit:
            raise _Budget()
        count += 1
        try:
            release = releases.read(version)
        except NotPublished:
            return False
        known[version] = release
        read.append(release)
        return True

    lines: list[str] = []
    try:
        for r in releases.catalog.releases:
            if r.inferred and not known[r.version].read_at and not ask(r.version):
                missing.append(r.version)
        newest: dict[tuple[int, int], tuple[int, int]] = {}
        for v in list(known):
            key = versions.k3s_key(v)
            if key and key[2] is not None and key[3] is not None:
                newest[key[:2]] = max(newest.get(key[:2], (-1, 0)), (key[2], key[3]))
        for (major, minor), (patch, rev) in sorted(newest.items()):
            lines.append(f"v{major}.{minor}")
            _walk(ask, major, minor, patch, rev)
        if newest:
            major, minor = max(newest)
            while True:
                minor += 1
                lines.append(f"v{major}.{minor}")
                if not _walk(ask, major, minor, -1, 0):
                    break
    except _Budget:
        return Update(tuple(read), tuple(missing), count, f"stopped after {limit} requests", tuple(lines))
    except ListUnreadable as e:
        return Update(tuple(read), tuple(missing), count, str(e), tuple(lines))
    return Update(tuple(read), tuple(missing), count, "", tuple(lines))


def _walk(ask, major: int, minor: int, patch: int, rev: int) -> bool:
    """Probe one minor line upward from ``patch``+k3s``rev`` (patch -1: from
    nothing); True when any release was found."""
    found = False
    if patch >= 0:
        while ask(f"v{major}.{minor}.{patch}+k3s{rev + 1}"):
            rev += 1
    misses = 0
    while misses < MISSES:
        patch += 1
        hit = next((n for n in range(1, REVISIONS + 1) if ask(f"v{major}.{minor}.{patch}+k3s{n}")), None)
        if hit is None:
            misses += 1
            continue
        found, misses, rev = True, 0, hit
        while ask(f"v{major}.{minor}.{patch}+k3s{rev + 1}"):
            rev += 1
    return found
