"""The catalog's release-wide facts, read from ``releases.toml`` and ``fixups.toml``.

A :class:`~.model.Component` describes one image's program; the values here
span components: which images a k3s release pulls, which versions users ask
for that k3s never released, and the dependency breakages a rebuild of any
component may hit.  :class:`~.model.Catalog` holds them beside the components.

A release's list comes from one of two places: the catalog shipped with
archport (read from the release, or inferred, as its provenance says), or the
release's own ``k3s-images.txt`` asset, read later (``read_at`` set).
:func:`resolve` matches a version the way k3s names its releases over both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .. import reference
from ..errors import ArchportError, BadInput
from . import versions
from .provenance import Provenance, jsonable
from .versions import Range


@dataclass(frozen=True, slots=True)
class K3sRelease:
    version: str                    # v1.24.2+k3s1
    kubernetes: str
    images: tuple[str, ...]         # familiar references, as the airgap image list names them
    components: tuple[tuple[str, str], ...]  # upstream versions the release notes list
    source: Provenance
    components_source: Provenance | None = None
    read_at: str = ""               # ISO 8601 UTC when read from the release's asset; "" = shipped

    @property
    def inferred(self) -> bool:
        """True when the list was not read from the release (the catalog's guess)."""
        return not self.source.verified

    def references(self) -> tuple[str, ...]:
        """Fully qualified names, what containerd stores and the kubelet asks for."""
        return tuple(reference.normalize(i) for i in self.images)

    def to_dict(self) -> dict:
        return jsonable(asdict(self))


@dataclass(frozen=True, slots=True)
class Missing:
    """A version users ask for that k3s never released."""

    version: str
    reason: str
    source: Provenance


@dataclass(frozen=True, slots=True)
class Fixup:
    id: str
    module: str                     # module path, or "*" for a procedure that applies to any
    bad: Range
    good: str
    go: Range                       # Go toolchains that trigger it ("" = any)
    goarch: tuple[str, ...]         # target architectures that trigger it (() = any)
    symptom: str
    action: str                     # "require" (bump to good) | "vendor" | "ldflags"
    alternative: str
    components: tuple[str, ...]
    source: Provenance

    def applies(self, module: str, version: str, go: str | None = None, goarch: str | None = None) -> bool:
        """True when ``module@version`` is known to break with this toolchain/target.
        An unknown ``go`` or ``goarch`` counts as a match (be proactive).
        Procedures (``module = "*"``, e.g. re-vendoring) never match a module:
        the strategy runs them after any bump in a vendored module."""
        if self.module != module:
            return False
        try:
            if version not in self.bad:
                return False
        except BadInput:
            return False
        if go is not None and self.go.constraints and versions.parse_go(go) not in self.go:
            return False
        return goarch is None or not self.goarch or goarch in self.goarch

    @property
    def is_procedure(self) -> bool:
        return self.module == "*"

    def to_dict(self) -> dict:
        return jsonable(asdict(self))


@dataclass(frozen=True, slots=True)
class ReleaseAssets:
    """Where k3s publishes a release's files: ``{url}/{version}/{images}``,
    the layout of its GitHub releases (the install script downloads
    ``k3s-airgap-images-*`` and ``k3s-images.txt`` from the same place)."""

    url: str                        # base, without the version
    images: str                     # k3s-images.txt
    source: Provenance

    def images_url(self, version: str, base: str | None = None) -> str:
        return f"{(base or self.url).rstrip('/')}/{version}/{self.images}"


class BadImageList(ArchportError):
    """A file served as a release's image list is not one."""


MAX_IMAGE_LIST = 64 << 10           # today's lists are under 1 KiB


def parse_image_list(text: str, origin: str) -> tuple[str, ...]:
    """The images of a ``k3s-images.txt`` (one fully qualified reference a
    line, as ``scripts/airgap/image-list.txt`` is written), in familiar form
    like the catalog's own lists, sorted, without duplicates."""
    out = set()
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            ref = reference.parse(line)
        except BadInput as e:
            raise BadImageList(f"{origin}: line {n} is not an image reference ({e})") from None
        if ref.tag is None and ref.digest is None:
            raise BadImageList(f"{origin}: line {n} names no tag: {line}")
        out.add(ref.familiar())
    if not out:
        raise BadImageList(f"{origin}: names no image")
    return tuple(sorted(out))


def read_release(version: str, images: tuple[str, ...], url: str, read_at: str) -> K3sRelease:
    """The release value for a list read from the release's own asset."""
    key = versions.k3s_key(version)
    if key is None or key[2] is None or key[3] is None:
        raise BadInput(f"{version!r} is not a k3s release name (vMAJOR.MINOR.PATCH+k3sN)")
    return K3sRelease(version, version.split("+", 1)[0], images, (),
                      Provenance(url, True, f"read from the release on {read_at}"), None, read_at)


def merged(shipped: tuple[K3sRelease, ...], read: tuple[K3sRelease, ...]) -> tuple[K3sRelease, ...]:
    """The shipped releases with the lists read from the releases put in
    place of theirs (a list read from the release beats the catalog's),
    ordered by version."""
    by_version = {r.version: r for r in shipped}
    by_version.update({r.version: r for r in read})
    return tuple(sorted(by_version.values(), key=lambda r: versions.k3s_key(r.version) or (0, 0, 0, 0)))


def resolve(releases: tuple[K3sRelease, ...], missing: tuple[Missing, ...], version: str,
            who: str = "the catalog") -> tuple[K3sRelease, str]:
    """The release ``version`` names (:func:`versions.pick_k3s`) and one short
    line saying which was taken when it named several ("" for an exact one).
    An unknown version is bad input naming the nearest known release."""
    text = (version or "").strip()
    if not text.startswith("v"):
        text = "v" + text
    known = [r.version for r in releases]
    picked = versions.pick_k3s(known, text)
    if picked is not None:
        chosen, how = picked
        release = next(r for r in releases if r.version == chosen)
        if how == "minor":
            return release, f"k3s {text[1:]}: {chosen}, the newest {text[1:]} release {who} knows"
        if how == "revision":
            others = [v for v in known if v != chosen and v.split("+", 1)[0] == text]
            if others:
                return release, f"k3s {text}: {chosen}, its newest k3s revision {who} knows"
        return release, ""
    nearest = versions.nearest_k3s(known, text)
    hint = f"; the nearest {who} knows is {nearest}" if nearest else ""
    listing = ", ".join(known)
    for m in missing:
        if m.version in (text, text.split("+", 1)[0]):
            raise BadInput(f"k3s {version}: {m.reason}{hint} (known releases: {listing})")
    raise BadInput(f"unknown k3s release {version!r}{hint}; {who} knows: {listing}")
