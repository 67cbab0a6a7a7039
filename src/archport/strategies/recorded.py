"""What a strategy's run used, as the partial build record it returns in
:attr:`archport.strategies.Outcome.record` (the port completes it from the
image itself: :mod:`archport.port.record`)."""

from __future__ import annotations

from ..attest.model import Asset, BuildRecord, Builder, CarriedFile, DistroPackage, Fixup, Materials, Substitution
from ..toolchain import fixups as fx


def fixups_of(steps) -> tuple[Fixup, ...]:
    """Catalog fixup entries applied, each with the module versions it made
    the build link (``require`` steps) and why."""
    by: dict[str, list[fx.Step]] = {}
    for s in steps:
        by.setdefault(s.fixup, []).append(s)
    out = []
    for entry, ss in by.items():
        modules = tuple(sorted(f"{s.module}@{s.new}" for s in ss if s.action == "require" and s.module))
        out.append(Fixup(entry, modules, "; ".join(s.describe().split(": ", 1)[-1] for s in ss)))
    return tuple(sorted(out, key=lambda f: f.entry))


def substitution_of(recipe) -> tuple[Substitution, ...]:
    if not recipe.substituted:
        return ()
    return (Substitution(recipe.module, recipe.instead_of, recipe.version, recipe.substituted),)


def go_record(strategy: str, recipe, go_version: str, steps, base: str = "",
              origins: dict[str, str] | None = None) -> BuildRecord:
    """The go strategy's part: fixups, substitution, toolchain, base image,
    the upstream files carried beside the binary (path -> upstream layer)."""
    carried = tuple(sorted((CarriedFile("/" + p.lstrip("/"), "", layer) for p, layer in (origins or {}).items()),
                           key=lambda c: (c.path, c.layer)))
    return BuildRecord(strategy, "", "", substitutions=substitution_of(recipe), fixups=fixups_of(steps),
                       materials=Materials(base=base, carried=carried), builder=Builder("", go=go_version))


def release_record(url: str, digest: str, checksum_from: str) -> BuildRecord:
    """The release strategy's part: the asset and where its checksum came
    from ("" when the user allowed an unverified asset: then the SBOM says so)."""
    return BuildRecord("release", "", "", materials=Materials(
        assets=(Asset(url, digest, checksum_from or "nowhere: unverified (--allow-unverified)"),)))


def deb_record(package: str, stanza, arch: str, index: str) -> BuildRecord:
    """The deb strategy's part: the package as its Packages stanza (reached
    from the signed ``index``) describes it."""
    return BuildRecord("deb", "", "", materials=Materials(packages=(
        DistroPackage("debian", package, stanza.get("Version", ""), arch, f"sha256:{stanza['SHA256']}", index),)))


def c_record(sources, compiler: str) -> BuildRecord:
    """The c strategy's part: each compiled source by digest, and the
    compiler as its ``--version`` names itself (zig's driver answers with
    the clang it carries)."""
    return BuildRecord("c", "", "", materials=Materials(sources=tuple(sorted(f"{n}#{d}" for n, d in sources))),
                       builder=Builder("", cc=compiler))


def mirror_record(name: str, digest: str) -> BuildRecord:
    """The mirror strategy's part: the other publisher's image it copied, by digest."""
    return BuildRecord("mirror", "", "", materials=Materials(sources=(f"oci://{name}#{digest}",)))


def carried_files(specs, origins: dict[str, str]) -> tuple[CarriedFile, ...]:
    """Upstream regular files carried over, with their upstream layer (the
    port adds each file's digest from the image it built)."""
    out = []
    for f in specs:
        layer = origins.get(f.path)
        if f.kind == "file" and layer:
            out.append(CarriedFile("/" + f.path.lstrip("/"), "", layer))
    return tuple(sorted(out, key=lambda c: c.path))


def transplant_record(packages, carried, origins: dict[str, str]) -> BuildRecord:
    """transplant's part: the base distribution's packages as verified, and
    the upstream files carried over."""
    return BuildRecord("transplant", "", "", materials=Materials(packages=tuple(packages),
                                                                 carried=carried_files(carried, origins)))
