"""``check --provenance``: what the image itself shows, against what its attachments claim.

Re-derived from the platform image's own layers, nothing else:

* every regular file's SHA-256 (layers applied in order, whiteouts honoured);
* every Go binary's build info (main module, linked modules and their
  go.sum ``h1:`` sums, as the Go linker embedded them).

Compared with the SBOM: each Go module a binary links must be listed (path
and version; the sum too, when both carry one), each Go module listed must
be linked by some binary, and each file the SBOM lists must exist with the
SHA-256 it gives.  The statement's and the SBOM's subject must be the
platform manifest's digest.  :func:`compare` is pure; :func:`observe` reads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable

from ..binaries.buildinfo import read_buildinfo
from ..binaries.elf import is_elf
from ..errors import BadInput
from ..imagefs import FILE, RootFS, apply_layer, entries, parse_name
from ..imagefs.paths import DELETE, ENTRY
from ..oci import Index, Manifest
from ..store import Source
from . import read
from .model import IN_TOTO
from .sbom import h1_hex
from .sign import BadSignature, verify as verify_bundle

@dataclass(frozen=True, slots=True)
class Observed:
    """What the image shows: file digests and Go modules per binary."""

    files: dict[str, str] = field(default_factory=dict)                 # path -> "sha256:…"
    go: dict[str, tuple[tuple[str, str, str], ...]] = field(default_factory=dict)   # binary -> ((path, version, sum), …)


def observe(source: Source, m: Manifest) -> Observed:
    files: dict[str, str] = {}
    for desc in m.layers:
        with source.open_blob(desc) as chunks:
            _hash_layer(chunks, files)
    go: dict[str, tuple[tuple[str, str, str], ...]] = {}
    fs = RootFS()
    try:
        for i, desc in enumerate(m.layers):
            with source.open_blob(desc) as chunks:
                apply_layer(fs, i, chunks, f"layer {i + 1} ({desc.digest})")
        for path, node in sorted(fs.walk()):
            if node.kind != FILE or not is_elf(node.head):
                continue
            stream = fs.open(node)
            if stream is None:
                continue
            try:
                bi = read_buildinfo(stream)
            except BadInput:
                continue
            if bi is None:
                continue
            mods = [(bi.main.path, bi.main.version, bi.main.sum)]
            mods += [(d.path, d.version, d.sum) for d in bi.deps]
            go[path] = tuple(mods)
    finally:
        fs.close()
    return Observed(files, go)


def _hash_layer(chunks: Iterable[bytes], files: dict[str, str]) -> None:
    for tf, m in entries(chunks):
        name = parse_name(m.name)
        if name.refused or name.climbed:
            continue
        path = name.path
        if name.kind != ENTRY:
            # A whiteout deletes the path and what is below it; an opaque
            # marker empties the directory (image-spec layer.md "Whiteouts").
            if name.kind == DELETE:
                files.pop(path, None)
            for p in [p for p in files if p.startswith(path.rstrip("/") + "/")]:
                del files[p]
            continue
        if m.isfile():
            h = hashlib.sha256()
            f = tf.extractfile(m)
            if f is not None:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            files[path] = "sha256:" + h.hexdigest()
        elif m.islnk():
            target = parse_name(m.linkname).path
            if target in files:
                files[path] = files[target]
        else:
            files.pop(path, None)


def sbom_claims(doc: dict) -> tuple[dict[str, str], dict[str, str], str]:
    """(Go modules "path@version" -> hex SHA-256 of the h1 sum or "", files path -> "sha256:…", subject digest)."""
    mods: dict[str, str] = {}
    subject = ""
    for p in doc.get("packages") or []:
        if not isinstance(p, dict):
            continue
        purls = [r.get("referenceLocator", "") for r in p.get("externalRefs") or [] if isinstance(r, dict)]
        if any(u.startswith("pkg:golang/") for u in purls):
            sums = [c.get("checksumValue", "") for c in p.get("checksums") or [] if c.get("algorithm") == "SHA256"]
            mods[f"{p.get('name')}@{p.get('versionInfo')}"] = sums[0] if sums else ""
        if p.get("SPDXID") in (doc.get("documentDescribes") or []):
            subject = str(p.get("versionInfo") or "")
    files: dict[str, str] = {}
    for f in doc.get("files") or []:
        sums = [c.get("checksumValue", "") for c in f.get("checksums") or [] if c.get("algorithm") == "SHA256"]
        name = str(f.get("fileName", ""))
        path = "/" + name.removeprefix("./").lstrip("/") if name else ""
        if path and sums:
            files[path] = "sha256:" + sums[0]
    return mods, files, subject


def compare(seen: Observed, sbom: dict, statement: dict | None, platform_digest: str) -> list[str]:
    """Every mismatch, one line each (empty: the attachments agree with the image)."""
    problems: list[str] = []
    mods, files, subject = sbom_claims(sbom)
    if subject and subject != platform_digest:
        problems.append(f"the SBOM describes {subject}, not this image {platform_digest}")
    if statement is not None:
        digests = [f"sha256:{(s.get('digest') or {}).get('sha256', '')}" for s in statement.get("subject") or []
                   if isinstance(s, dict)]
        if platform_digest not in digests:
            problems.append(f"the provenance's subject is {', '.join(digests) or 'missing'}, not {platform_digest}")
    linked: set[str] = set()
    for binary, modules in sorted(seen.go.items()):
        for i, (path, version, h1) in enumerate(modules):
            if i == 0 and version in ("", "(devel)"):
                problems.append(f"{binary}: its build info says {path}@{version or '(none)'}, not a released version")
                continue
            key = f"{path}@{version}"
            linked.add(key)
            if key not in mods:
                problems.append(f"{binary} links Go module {key}, which the SBOM does not list")
            elif mods[key] and h1_hex(h1) and mods[key] != h1_hex(h1):
                problems.append(f"{binary} links {key} with go.sum {h1}; the SBOM gives another checksum")
    for key in sorted(set(mods) - linked):
        problems.append(f"the SBOM lists Go module {key}, which no binary in the image links")
    for path, digest in sorted(files.items()):
        got = seen.files.get(path)
        if got is None:
            problems.append(f"the SBOM lists {path}, which the image does not hold")
        elif got != digest:
            problems.append(f"{path} is {got} in the image; the SBOM says {digest}")
    return problems


@dataclass(frozen=True, slots=True)
class Verdict:
    """``check --provenance`` for one platform image."""

    image: str
    platform: str
    digest: str
    listing: str
    attachments: tuple[tuple[str, str], ...]     # (artifactType, digest)
    problems: tuple[str, ...]
    signature: str = ""                          # "" (none) | "verified" | "not checked (no --key)"

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"image": self.image, "platform": self.platform, "digest": self.digest, "listing": self.listing,
                "attachments": [{"artifactType": a, "digest": d} for a, d in self.attachments],
                "problems": list(self.problems), "signature": self.signature or None, "ok": self.ok}


def verify(source: Source, platform, public_pem: bytes | None = None) -> Verdict:
    """Read the platform's image and attachments from ``source`` and compare them."""
    top = source.resolve()
    desc = top.find(platform) if isinstance(top, Index) else top.descriptor()
    if desc is None:
        raise BadInput(f"{source.name} has no {platform} image")
    m = source.manifest(desc)
    if not isinstance(m, Manifest):
        raise BadInput(f"{source.name}: the {platform} entry is not an image manifest")
    found, how = read.attachments(source, desc)
    kinds = tuple((f.artifact_type, str(f.entry.digest)) for f in found)
    sbom, statement = read.sbom(found), read.statement(found)
    problems: list[str] = []
    if sbom is None:
        problems.append(f"no SBOM is attached to {desc.digest} ({how})")
    if statement is None:
        problems.append(f"no provenance is attached to {desc.digest} ({how})")
    if sbom is not None:
        problems += compare(observe(source, m), sbom, statement, str(desc.digest))
    signature = ""
    bundle = read.signature(found)
    if bundle is not None:
        signature = "not checked (no --key)"
        if public_pem is not None:
            try:
                signed = verify_bundle(bundle.data, public_pem)
            except BadSignature as e:
                problems.append(f"the signature does not verify: {e}")
                signed = None
            if signed is not None:
                signature = "verified"
                if statement is not None and read.pick(found, IN_TOTO).data != signed:
                    problems.append("the signature is over another statement than the attached provenance")
    elif public_pem is not None:
        problems.append(f"--key given, but no signature is attached to {desc.digest}")
    return Verdict(source.name, str(platform), str(desc.digest), how, kinds, tuple(problems), signature)
