"""The catalog's values: a component's facts, and the :class:`Catalog` that holds
the components beside the release-wide facts of :mod:`.releases`.  Every fact
group carries the :class:`Provenance` that states it."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from .. import reference
from ..errors import BadInput
from . import versions
from .provenance import Provenance, jsonable
from .releases import Fixup, K3sRelease, Missing, ReleaseAssets, resolve
from .versions import Range


@dataclass(frozen=True, slots=True)
class Image:
    """A repository k3s pulls (familiar form) and the upstream image it mirrors.

    ``mirrors``: the image this repository is a byte-for-byte mirror of, tag
    for tag (rancher/mirrored-library-busybox of library/busybox), when the
    mirrored image has platforms the mirror lacks: the ``mirror`` strategy
    takes its child for the target unchanged.  Empty when not known."""

    repository: str
    upstream: str
    source: Provenance
    mirrors: str = ""

    def matches(self, ref: reference.Reference) -> bool:
        mine = reference.parse(self.repository)
        if mine.repository == ref.repository:
            return True
        # --system-default-registry / a private mirror only prefixes the path.
        return ref.path == mine.path or ref.path.endswith("/" + mine.path)


@dataclass(frozen=True, slots=True)
class GoBuild:
    versions: Range
    module: str
    package: str                    # relative to the module root: "." or "./cmd/x"
    ldflags: tuple[str, ...]        # plain linker flags (-s -w)
    x: tuple[tuple[str, str], ...]  # -X variable, value template ({version}, {tag}, {commit}, {date})
    cgo: bool
    tags: tuple[str, ...]
    vendored: bool
    source: Provenance

    def ldflags_for(self, values: dict[str, str]) -> tuple[str, ...]:
        out = list(self.ldflags)
        for var, template in self.x:
            out += ["-X", f"{var}={_fill(template, values)}"]
        return tuple(out)


@dataclass(frozen=True, slots=True)
class CBuild:
    versions: Range
    repository: str                 # source-code repository URL
    files: tuple[str, ...]          # paths inside it
    cflags: tuple[str, ...]
    source: Provenance
    module: str = ""                # a Go module whose zip carries the files (served by GOPROXY)
    module_version: str = ""
    sha256: tuple[tuple[str, str], ...] = ()   # file -> pinned SHA-256 of its bytes


@dataclass(frozen=True, slots=True)
class DebPackage:
    versions: Range
    package: str
    suite: str
    binary: str                     # path inside the package
    architectures: tuple[str, ...]  # GOARCH names the suite builds it for
    source: Provenance
    list_links: tuple[str, ...] = ()  # arguments that make the binary list its applet paths
    links: tuple[str, ...] = ()       # applet links to make when it cannot be run


@dataclass(frozen=True, slots=True)
class Distro:
    """Why a distro-based image is not ported by go/c/deb, and what a transplant needs."""

    versions: Range
    base: str
    reason: str
    transplant_needs: tuple[str, ...]
    source: Provenance
    onto: tuple[str, ...] = ()      # transplant's bases, preferred first: ("alpine:3.22", "debian:trixie")
    # Who chooses the iptables backend: "" the image's own links (kept as
    # upstream set them), "entry" its entry script at each start (both
    # multi-call binaries must then be in the image).
    iptables: str = ""
    entry_commands: tuple[str, ...] = ()   # what the entry script runs: each must resolve through PATH


@dataclass(frozen=True, slots=True)
class LocalModule:
    """A dependency no proxy serves under its own path, made as a local
    module from files of one that is served (their content identical, as
    the catalog entry's source says)."""

    module: str                          # the import path the code uses: vbom.ml/util
    source: str                          # module@version the files come from
    files: tuple[tuple[str, str], ...]   # path in the local module -> path in the source module

    @property
    def directory(self) -> str:
        """Where go.mod's replace points, relative to the module root."""
        return f".archport/{self.module}"


@dataclass(frozen=True, slots=True)
class Binary:
    """A Go binary inside a distro-based image whose build info cannot say
    what to build (a build from a checkout records ``(devel)``; a GOPATH
    build records no module): the transplant strategy rebuilds it from this."""

    versions: Range                 # image tags
    path: str                       # absolute path in the image
    module: str
    version: str                    # module version to build ("": the component's version for the tag)
    package: str                    # relative to the module root: "." or "./cmd/x"
    ldflags: tuple[str, ...]
    x: tuple[tuple[str, str], ...]  # -X variable, value template ({version}: the module version without v)
    tags: tuple[str, ...]
    source: Provenance
    # A module without go.mod (built with glide or dep): the go.mod to write
    # into it first (a file under catalog/gomod/, its pins explained there).
    gomod: str = ""
    local: tuple["LocalModule", ...] = ()   # modules that go.mod replaces with a local directory

    def ldflags_for(self, version: str) -> tuple[str, ...]:
        out = list(self.ldflags)
        for var, template in self.x:
            out += ["-X", f"{var}={template.replace('{version}', version.removeprefix('v'))}"]
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Substitute:
    """A version to propose when a Go module's exact version cannot be
    fetched (a proxy refuses it).  Only proposed: the user applies it with
    ``--substitute``, and the result records it."""

    module: str
    refused: Range                  # the module versions this proposal is for
    version: str                    # the proposed version
    reason: str
    source: Provenance


@dataclass(frozen=True, slots=True)
class Blocked:
    """Something a build of these image versions needs that cannot be had
    where the catalog was written (a module the proxy refuses at every
    version, a binary no one publishes for the target): ``port`` reports the
    image "not supported here", naming it, instead of building part of it."""

    versions: Range                 # image tags
    what: str                       # what the image needs: "the helm-set-status helm plugin"
    reason: str                     # why it cannot be had: the exact refusal, when it was seen
    source: Provenance
    module: str = ""                # the Go module it is built from, when it is one

    def message(self, component: str, tag: str) -> str:
        needs = f"{self.what} ({self.module})" if self.module else self.what
        return f"not supported here: {component} {tag} needs {needs}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ImageContract:
    """What manifests rely on: the image config and where the binary lives."""

    versions: Range
    binary: str
    entrypoint: tuple[str, ...] | None
    cmd: tuple[str, ...] | None
    user: str
    working_dir: str
    exposed_ports: tuple[str, ...]
    base: str
    upstream_platforms: tuple[str, ...]
    source: Provenance


@dataclass(frozen=True, slots=True)
class ReleaseAsset:
    versions: Range
    url: str                        # template: {version} (no v), {tag}, {arch}
    checksum_url: str               # template, may use {url}
    checksum_format: str            # "sha256sum" (one file per asset) | "checksums.txt"
    archive: str                    # "tgz" | "tar.gz" | "zip" | "raw"
    member: str                     # the binary inside the archive
    architectures: tuple[str, ...]
    source: Provenance

    def urls(self, tag: str, arch: str) -> tuple[str, str]:
        values = _values(tag) | {"arch": arch}
        url = _fill(self.url, values)
        return url, _fill(self.checksum_url, values | {"url": url})


@dataclass(frozen=True, slots=True)
class Alternative:
    """Another publisher of the same program whose index has more platforms."""

    versions: Range
    image: str                      # familiar reference without tag
    tag: str                        # template
    platforms: tuple[str, ...]
    contract_note: str
    source: Provenance

    def reference(self, tag: str) -> str:
        return f"{self.image}:{_fill(self.tag, _values(tag))}"


@dataclass(frozen=True, slots=True)
class Knob:
    """A k3s setting that selects or redirects this image."""

    kind: str                       # "flag" | "manifest" | "helmchart" | "config"
    name: str
    detail: str
    source: Provenance


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    description: str
    kind: str                       # "go" | "c" | "deb" | "distro"
    module_version: str             # template turning an image tag into the upstream version
    images: tuple[Image, ...]
    go: tuple[GoBuild, ...] = ()
    c: tuple[CBuild, ...] = ()
    deb: tuple[DebPackage, ...] = ()
    distro: tuple[Distro, ...] = ()
    contracts: tuple[ImageContract, ...] = ()
    releases: tuple[ReleaseAsset, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    knobs: tuple[Knob, ...] = ()
    substitutes: tuple[Substitute, ...] = ()
    binaries: tuple[Binary, ...] = ()
    smokes: tuple = ()              # catalog.smoke.Recipe (that module imports this one)
    blocked: tuple[Blocked, ...] = ()

    def matches(self, ref: reference.Reference) -> bool:
        return any(i.matches(ref) for i in self.images)

    def mirrored(self, ref: reference.Reference) -> str:
        """The image ``ref``'s repository mirrors, tag for tag ("" if none)."""
        return next((i.mirrors for i in self.images if i.mirrors and i.matches(ref)), "")

    def upstream_version(self, tag: str) -> str:
        """``1.9.1`` → ``v1.9.1`` for coredns; ``v0.0.21`` → ``v0.0.21``."""
        return _fill(self.module_version, _values(tag))

    def go_build(self, tag: str) -> GoBuild | None:
        return _first(self.go, tag)

    def c_build(self, tag: str) -> CBuild | None:
        return _first(self.c, tag)

    def deb_package(self, tag: str, arch: str) -> DebPackage | None:
        return next((d for d in _all(self.deb, tag) if arch in d.architectures), None)

    def distro_for(self, tag: str) -> Distro | None:
        return _first(self.distro, tag)

    def binary(self, tag: str, path: str) -> Binary | None:
        return next((b for b in _all(self.binaries, tag) if b.path == path), None)

    def substitute_for(self, module: str, version: str) -> Substitute | None:
        """The catalog's proposal for ``module@version`` (a module version, not an image tag)."""
        try:
            v = versions.parse(version)
        except BadInput:
            return None
        return next((s for s in self.substitutes if s.module == module and v in s.refused), None)

    def blocked_for(self, tag: str) -> tuple[Blocked, ...]:
        """What blocks a build of image tag ``tag`` here (empty when nothing does)."""
        return _all(self.blocked, tag)

    def contract(self, tag: str) -> ImageContract | None:
        return _first(self.contracts, tag)

    def smoke_recipe(self, tag: str, built_as: str | None = None):
        """The :class:`~.smoke.Recipe` for image tag ``tag`` (expect filled, with
        ``built_as`` when the program was rebuilt at another version), or None."""
        found = _first(self.smokes, tag)
        return found.for_tag(tag, built_as) if found is not None else None

    def release_asset(self, tag: str, arch: str) -> ReleaseAsset | None:
        return next((r for r in _all(self.releases, tag) if arch in r.architectures), None)

    def alternatives_for(self, tag: str, platform: str) -> tuple[Alternative, ...]:
        return tuple(a for a in _all(self.alternatives, tag) if platform in a.platforms)

    def to_dict(self) -> dict:
        return jsonable(asdict(self))


@dataclass(frozen=True, slots=True)
class Catalog:
    releases: tuple[K3sRelease, ...]
    missing: tuple[Missing, ...]
    components: tuple[Component, ...]
    fixups: tuple[Fixup, ...]
    files: tuple[str, ...] = field(default=())
    assets: ReleaseAssets | None = None     # where k3s publishes each release's image list

    def release(self, version: str) -> K3sRelease:
        """``v1.24.2+k3s1`` exactly; ``v1.24.2`` / ``1.24.2`` → see :meth:`resolve_release`."""
        return self.resolve_release(version)[0]

    def resolve_release(self, version: str) -> tuple[K3sRelease, str]:
        """The release a version names among the shipped ones, and a short line
        saying which was taken when it named several ("" for an exact match):
        see :func:`.releases.resolve`."""
        return resolve(self.releases, self.missing, version)

    def component(self, name_or_image: str) -> Component:
        """Look up by component name, or by any reference to one of its images."""
        key = (name_or_image or "").strip()
        for c in self.components:
            if c.name == key:
                return c
        try:
            ref = reference.parse(key)
        except BadInput:
            ref = None
        if ref is not None:
            for c in self.components:
                if c.matches(ref):
                    return c
        names = ", ".join(c.name for c in self.components)
        raise BadInput(f"unknown component or image {name_or_image!r}; the catalog knows: {names}")

    def about(self, image: str) -> str:
        """One line on what ``image`` is and, when the catalog names a
        blocker, why archport cannot build it here ("" for an image the
        catalog does not know): what audit shows beside such an image."""
        try:
            ref = reference.parse(image)
        except BadInput:
            return ""
        comp = next((c for c in self.components if c.matches(ref)), None)
        if comp is None:
            return ""
        blocked = comp.blocked_for(ref.tag or "")
        return f"{comp.name}: {comp.description}" + (f" {blocked[0].message(comp.name, ref.tag or '')}"
                                                      if blocked else "")

    def fixups_for(self, module: str, version: str, go: str | None = None,
                   goarch: str | None = None) -> tuple[Fixup, ...]:
        return tuple(f for f in self.fixups if f.applies(module, version, go, goarch))


def _values(tag: str) -> dict[str, str]:
    return {"tag": tag, "version": tag[1:] if tag.startswith("v") else tag}


def _fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def _all(items, tag: str):
    try:
        v = versions.parse(tag)
    except BadInput:
        return ()
    return tuple(i for i in items if v in i.versions)


def _first(items, tag: str):
    found = _all(items, tag)
    return found[0] if found else None
