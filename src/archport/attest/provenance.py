"""An in-toto Statement v1 with a SLSA provenance v1 predicate (pure, deterministic).

Statement layout: in-toto attestation framework v1 (``_type``
``https://in-toto.io/Statement/v1``, ``subject`` with a DigestSet,
``predicateType``, ``predicate``).  Predicate: SLSA v1.0 provenance
(``buildDefinition`` with ``buildType``, ``externalParameters`` and
``resolvedDependencies``; no ``internalParameters``, archport sets none of
its own; ``runDetails`` with ``builder`` and ``metadata``).

It claims only what the run shows: no ``invocationId``, no ``startedOn`` or
``finishedOn`` (they would break byte-identical output and say nothing the
image needs), nothing about hermeticity or isolation.  Go modules' DigestSets
use ``dirHash`` (in-toto DigestSet v1.1: the go.sum ``h1:`` value in hex).
"""

from __future__ import annotations

from dataclasses import asdict

from .model import SLSA_PREDICATE, BuildRecord
from .sbom import dumps, h1_hex

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
#: Our URIs (the reserved ``.invalid`` domain: archport claims no host name).
BUILD_TYPE = "https://archport.invalid/buildtype/{strategy}/v1"
BUILDER_ID = "https://archport.invalid/builder/archport-cli"


def build_type(strategy: str) -> str:
    """``archport/<strategy>`` as a URI of ours."""
    return BUILD_TYPE.format(strategy=strategy)


def statement(record: BuildRecord, subject_digest: str, subject_name: str) -> bytes:
    """The statement's bytes: JSON, keys sorted, no time, no paths of the run."""
    return dumps(build(record, subject_digest, subject_name))


def build(record: BuildRecord, subject_digest: str, subject_name: str) -> dict:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject_name, "digest": _digest_set(subject_digest)}],
        "predicateType": SLSA_PREDICATE,
        "predicate": {
            "buildDefinition": {
                "buildType": build_type(record.strategy),
                "externalParameters": external_parameters(record),
                "resolvedDependencies": resolved_dependencies(record),
            },
            "runDetails": {
                "builder": {"id": BUILDER_ID, "version": _builder_version(record)},
                "metadata": {},
            },
        },
    }


def external_parameters(record: BuildRecord) -> dict:
    """What the user (and the catalog they chose) asked for."""
    out: dict = {"upstream": record.upstream, "platform": record.platform, "strategy": record.strategy}
    if record.upstream_tag:
        out["upstreamTag"] = record.upstream_tag
    if record.isa_profile:
        out["isaProfile"] = record.isa_profile
    if record.catalog_entry:
        out["catalogEntry"] = record.catalog_entry
    if record.substitutions:
        out["substitutions"] = sorted((asdict(s) for s in record.substitutions), key=lambda d: d["name"])
    if record.fixups:
        out["fixups"] = sorted(({"entry": f.entry, "modules": sorted(f.modules), **({"note": f.note} if f.note else {})}
                                for f in record.fixups), key=lambda d: d["entry"])
    return out


def resolved_dependencies(record: BuildRecord) -> list[dict]:
    """Every input by digest (in-toto ResourceDescriptor), in a fixed order."""
    m = record.materials
    out: list[dict] = []
    for role, ref in (("upstream", record.upstream), ("base", m.base)):
        if ref:
            name, _, digest = ref.partition("@")
            out.append(_descriptor(f"oci://{name}", digest, name=role))
    mods: dict[str, dict] = {}
    for b in m.go_binaries:
        for mod in (b.main, *b.deps):
            key = f"{mod.path}@{mod.version}"
            if key in mods or b.main is mod and not mod.sum:
                continue
            d: dict = {"uri": f"pkg:golang/{mod.path}@{mod.version}", "name": mod.path}
            h = h1_hex(mod.sum)
            if h:
                d["digest"] = {"dirHash": h}
            if mod.replaced_by:
                d["annotations"] = {"replacedBy": mod.replaced_by}
            mods[key] = d
    out.extend(mods[k] for k in sorted(mods))
    for p in sorted(m.packages, key=lambda p: (p.distro, p.name, p.version, p.arch)):
        kind = "deb" if p.distro == "debian" else "apk"
        d = {"uri": f"pkg:{kind}/{p.distro}/{p.name}@{p.version}?arch={p.arch}", "name": p.name,
             "annotations": {"signedIndex": p.index, **({"indexDigest": p.index_digest} if p.index_digest else {})}}
        if p.checksum.startswith("sha256:"):
            d["digest"] = {"sha256": p.checksum.partition(":")[2]}
        else:
            d["annotations"]["checksum"] = p.checksum
        out.append(d)
    for a in sorted(m.assets, key=lambda a: a.url):
        out.append(_descriptor(a.url, a.digest, annotations={"checksumFrom": a.checksum_source}
                               if a.checksum_source else None))
    for s in sorted(m.sources):
        url, _, digest = s.partition("#")
        out.append(_descriptor(url, digest))
    layers = sorted({c.layer for c in m.carried})
    for layer in layers:
        out.append(_descriptor(f"oci://{record.upstream.partition('@')[0]}/blobs/{layer}", layer,
                               name="upstream layer"))
    return out


def _builder_version(record: BuildRecord) -> dict:
    b = record.builder
    return {k: v for k, v in (("archport", b.archport), ("go", b.go), ("zig", b.zig), ("cc", b.cc)) if v}


def _descriptor(uri: str, digest: str, *, name: str = "", annotations: dict | None = None) -> dict:
    d: dict = {"uri": uri}
    if digest:
        d["digest"] = _digest_set(digest)
    if name:
        d["name"] = name
    if annotations:
        d["annotations"] = annotations
    return d


def _digest_set(digest: str) -> dict:
    algo, _, value = digest.partition(":")
    return {algo: value}

