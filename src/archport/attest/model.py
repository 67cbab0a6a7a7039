"""The record of one platform's port run and the attachments made from it (pure values).

A :class:`BuildRecord` holds only what the run itself saw: digests it
verified, versions it linked, files it wrote.  Nothing in it depends on the
clock, the cache state or temporary paths, so the documents made from it are
the same bytes for the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

#: IANA-registered media type of SPDX JSON documents (SPDX 2.3, annex "SPDX
#: file formats"); ORAS and cosign attach SBOMs under it.
SPDX_JSON = "application/spdx+json"
#: An in-toto statement (in-toto attestation framework, envelope-less JSON);
#: buildx's attestation manifests carry their layers under this type.
IN_TOTO = "application/vnd.in-toto+json"
#: The in-toto predicate types of the two documents.
SPDX_PREDICATE = "https://spdx.dev/Document"
SLSA_PREDICATE = "https://slsa.dev/provenance/v1"
#: The annotation buildx puts on an attestation layer naming its predicate type.
PREDICATE_ANNOTATION = "in-toto.io/predicate-type"


@dataclass(frozen=True, slots=True)
class Attachment:
    """One document to attach to a platform manifest: the referrer manifest's
    ``artifactType``, its one layer's media type and bytes, and annotations
    (sorted pairs) for the layer."""

    artifact_type: str
    media_type: str
    data: bytes
    annotations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class GoModule:
    """A module linked into a Go binary, as its build info and go.sum say."""

    path: str
    version: str
    sum: str = ""                    # "h1:…" (empty for the main module, which has no sum)
    replaced_by: str = ""            # "path@version" of a replace directive, if any
    fixup: str = ""                  # the catalog fixup entry that chose this version


@dataclass(frozen=True, slots=True)
class GoBinary:
    """A Go program in the image, with what its build info names."""

    path: str                        # absolute path in the image
    main: GoModule
    deps: tuple[GoModule, ...] = ()
    go_version: str = ""


@dataclass(frozen=True, slots=True)
class DistroPackage:
    """A Debian or Alpine package whose files went into the image."""

    distro: str                      # "debian" | "alpine"
    name: str
    version: str
    arch: str
    checksum: str                    # "sha256:…" (Debian) or Alpine's "Q1…" (SHA-1, base64) as the index gives it
    index: str                       # the signed index it was verified against (URL)
    index_digest: str = ""           # "sha256:…" of that index as read


@dataclass(frozen=True, slots=True)
class Asset:
    """A release asset downloaded and checked against its published checksum."""

    url: str
    digest: str                      # "sha256:…" as checked
    checksum_source: str = ""        # where the expected checksum came from (URL or "catalog")


@dataclass(frozen=True, slots=True)
class CarriedFile:
    """An upstream file carried over unchanged, with the upstream layer it came from."""

    path: str
    digest: str                      # "sha256:…" of the file's content
    layer: str                       # "sha256:…" of the upstream layer


@dataclass(frozen=True, slots=True)
class ImageFile:
    """A regular file in the built image, and its content's digest."""

    path: str
    digest: str                      # "sha256:…"
    sha1: str = ""                   # hex; SPDX 2.3 wants a SHA1 for every file (clause 8.4)


@dataclass(frozen=True, slots=True)
class Substitution:
    """``--substitute``: what was built instead of what, and why."""

    name: str                        # the component
    wanted: str                      # the version upstream's image holds
    used: str                        # the version built instead
    why: str = ""


@dataclass(frozen=True, slots=True)
class Fixup:
    """A catalog fixup entry applied, and the module versions really linked because of it."""

    entry: str                       # the catalog's fixup id
    modules: tuple[str, ...] = ()    # "path@version" as linked
    note: str = ""


@dataclass(frozen=True, slots=True)
class Builder:
    """What built the image: archport's version and the compiler it ran."""

    archport: str
    go: str = ""                     # "go1.24.2"
    zig: str = ""                    # "0.13.0"
    cc: str = ""                     # a C compiler's own word: the first line of its --version


@dataclass(frozen=True, slots=True)
class Materials:
    """Everything that went into the image, each with its digest and origin."""

    go_binaries: tuple[GoBinary, ...] = ()
    packages: tuple[DistroPackage, ...] = ()
    assets: tuple[Asset, ...] = ()
    carried: tuple[CarriedFile, ...] = ()
    base: str = ""                   # the base image by digest ("name@sha256:…"); "" for scratch
    sources: tuple[str, ...] = ()    # other inputs by digest, e.g. a C source "url#sha256:…"
    files: tuple[ImageFile, ...] = ()


@dataclass(frozen=True, slots=True)
class BuildRecord:
    """What the port of ONE platform used, as the run saw it."""

    strategy: str                    # go | release | c | deb | transplant | mirror
    upstream: str                    # upstream reference by digest: "name@sha256:…"
    platform: str                    # "linux/riscv64"
    isa_profile: str = ""            # "rva20u64" (riscv64)
    catalog_entry: str = ""          # the catalog component's id, if the catalog knows the image
    upstream_tag: str = ""           # the tag the user named, for reading (the digest is the authority)
    created: str = ""                # the image config's "created" (from SOURCE_DATE_EPOCH), RFC 3339
    substitutions: tuple[Substitution, ...] = ()
    fixups: tuple[Fixup, ...] = ()
    materials: Materials = Materials()
    builder: Builder = Builder("")
