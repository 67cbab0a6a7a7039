"""An SPDX 2.3 JSON document from a build record (pure, deterministic).

The document describes one package, the platform image itself (purl
``pkg:oci/…@sha256:…``), which CONTAINS every Go module, distro package,
release asset and file that went in, and was GENERATED_FROM the upstream
image and the base image (SPDX 2.3 clause 11, relationship types).

Fields follow SPDX 2.3's JSON serialisation (annex "SPDX file formats");
package identifiers use package URLs (purl-spec: ``golang``, ``deb``, ``apk``,
``oci`` types) so scanners match them to their own findings.  ``created`` is
mandatory in SPDX; it is the image's own creation time (its config's
``created``, set from SOURCE_DATE_EPOCH), never the time of the run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from urllib.parse import quote

from .model import BuildRecord, GoModule

_EPOCH = "1970-01-01T00:00:00Z"
#: Our own URI space for document namespaces; SPDX requires a unique URI,
#: which the subject digest makes unique.
NAMESPACE = "https://archport.invalid/spdx"


def document(record: BuildRecord, subject_digest: str, subject_name: str) -> bytes:
    """The SBOM's bytes: SPDX 2.3 JSON, keys sorted, no whitespace variation."""
    return dumps(build(record, subject_digest, subject_name))


def dumps(obj) -> bytes:
    """Canonical enough to be byte-identical: sorted keys, no insignificant
    whitespace (an image's SBOM lists hundreds of files), UTF-8."""
    return (json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def build(record: BuildRecord, subject_digest: str, subject_name: str) -> dict:
    m = record.materials
    ids = _Ids()
    by_path: dict[str, str] = {}

    def file_id(path: str) -> str:
        if path not in by_path:
            by_path[path] = ids.make(f"File-{path}")
        return by_path[path]

    image_id = "SPDXRef-Image"
    image = {
        "SPDXID": image_id, "name": subject_name, "versionInfo": subject_digest,
        "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
        "primaryPackagePurpose": "CONTAINER",
        "checksums": [_checksum(subject_digest)],
        "externalRefs": [_purl(_oci_purl(subject_name, subject_digest, record.platform))],
        "comment": _image_comment(record),
    }
    if m.files:
        # The files are the image's own layers' (the base image's are named by
        # its digest); SPDX 2.3 clause 7.9: a package with files analysed
        # carries the verification code over their SHA1s.
        image["filesAnalyzed"] = True
        image["packageVerificationCode"] = {"packageVerificationCodeValue": verification_code(m.files)}
    packages, files, rels = [image], [], [_rel("SPDXRef-DOCUMENT", "DESCRIBES", image_id)]

    def add_source(kind: str, name: str, ref: str, relation: str) -> None:
        if not ref:
            return
        spdx_id = ids.make(f"{kind}-{name}")
        repo, _, digest = ref.partition("@")
        pkg = {"SPDXID": spdx_id, "name": repo, "versionInfo": digest or "NOASSERTION",
               "downloadLocation": "NOASSERTION", "filesAnalyzed": False, "comment": f"{kind} image, by digest"}
        if digest.startswith("sha256:"):
            pkg["checksums"] = [_checksum(digest)]
            pkg["externalRefs"] = [_purl(_oci_purl(repo, digest, record.platform if kind == "base" else ""))]
        packages.append(pkg)
        rels.append(_rel(image_id, relation, spdx_id))

    add_source("upstream", "image", record.upstream, "GENERATED_FROM")
    add_source("base", "image", m.base, "DESCENDANT_OF")

    linked = _fixup_notes(record)
    seen_mods: dict[str, str] = {}
    for binary in sorted(m.go_binaries, key=lambda b: b.path):
        fid = file_id(binary.path)
        for mod in (binary.main, *sorted(binary.deps, key=lambda d: (d.path, d.version))):
            key = f"{mod.path}@{mod.version}"
            if key not in seen_mods:
                seen_mods[key] = ids.make(f"Go-{key}")
                packages.append(_go_package(seen_mods[key], mod, linked.get(key, ""),
                                            main=mod is binary.main))
                rels.append(_rel(image_id, "CONTAINS", seen_mods[key]))
            rels.append(_rel(fid, "GENERATED_FROM" if mod is binary.main else "DEPENDS_ON", seen_mods[key]))
    for p in sorted(m.packages, key=lambda p: (p.distro, p.name, p.version, p.arch)):
        spdx_id = ids.make(f"{p.distro}-{p.name}-{p.version}")
        pkg = {"SPDXID": spdx_id, "name": p.name, "versionInfo": p.version, "downloadLocation": "NOASSERTION",
               "filesAnalyzed": False, "supplier": "NOASSERTION",
               "externalRefs": [_purl(_distro_purl(p.distro, p.name, p.version, p.arch))],
               "comment": f"verified against the signed index {p.index}"
                          + (f" ({p.index_digest})" if p.index_digest else "")
                          + f"; checksum {p.checksum}"}
        if p.checksum.startswith("sha256:"):
            pkg["checksums"] = [_checksum(p.checksum)]
        packages.append(pkg)
        rels.append(_rel(image_id, "CONTAINS", spdx_id))
    for a in sorted(m.assets, key=lambda a: a.url):
        spdx_id = ids.make(f"Asset-{a.url.rsplit('/', 1)[-1]}")
        packages.append({"SPDXID": spdx_id, "name": a.url.rsplit("/", 1)[-1], **_location(a.url),
                         "filesAnalyzed": False, "checksums": [_checksum(a.digest)],
                         "comment": "release asset, checked against the checksum from "
                                    + (a.checksum_source or "its release")})
        rels.append(_rel(image_id, "CONTAINS", spdx_id))
    for src in sorted(m.sources):
        url, _, digest = src.partition("#")
        spdx_id = ids.make(f"Source-{url.rsplit('/', 1)[-1]}")
        pkg = {"SPDXID": spdx_id, "name": url.rsplit("/", 1)[-1] or url, **_location(url),
               "filesAnalyzed": False,
               "comment": "image copied as is, by digest" if url.startswith("oci://") else "source built into the image"}
        if digest.startswith("sha256:"):
            pkg["checksums"] = [_checksum(digest)]
        packages.append(pkg)
        rels.append(_rel(image_id, "GENERATED_FROM", spdx_id))
    carried = {c.path: c for c in m.carried}
    for f in sorted(m.files, key=lambda f: f.path):
        fid = file_id(f.path)
        entry = {"SPDXID": fid, "fileName": _file_name(f.path), "checksums": _file_checksums(f)}
        c = carried.get(f.path)
        if c is not None:
            entry["comment"] = f"carried over from upstream layer {c.layer}"
        files.append(entry)
        rels.append(_rel(image_id, "CONTAINS", fid))
    # A relationship may only name elements the document holds: a Go
    # binary's modules hang off its file when the file list has it (a file
    # entry needs its checksums, which only the image's file list gives).
    listed = {f["SPDXID"] for f in files}
    rels = [r for r in rels if r["spdxElementId"] not in by_path.values() or r["spdxElementId"] in listed]
    doc = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{subject_name}@{subject_digest}",
        "documentNamespace": f"{NAMESPACE}/{_safe(subject_name)}/{subject_digest.replace(':', '-')}",
        "creationInfo": {"created": record.created or _EPOCH,
                         "creators": [f"Tool: archport-{record.builder.archport or 'unknown'}"]},
        "documentDescribes": [image_id],
        "packages": packages,
        "relationships": _unique(rels),
    }
    if files:
        doc["files"] = files
    return doc


def verification_code(files) -> str:
    """SPDX 2.3 clause 7.9: the SHA1 of the files' sorted lowercase-hex SHA1s, concatenated."""
    return hashlib.sha1("".join(sorted(f.sha1 for f in files)).encode()).hexdigest()


#: SPDX 2.3's grammar for a download location URL (annex on the package's
#: download location): a host name ending in a 2-5 letter top-level domain.
_URL = re.compile(r"^(https?|s?ftp|ssh|git|svn)://([^/@\s]+@)?[a-z0-9]+([.-][a-z0-9]+)*\.[a-z]{2,5}"
                  r"(:[0-9]{1,5})?(/\S*)?$", re.IGNORECASE)


def _location(url: str) -> dict:
    """``downloadLocation``: the URL where SPDX's grammar takes it (an address
    like ``http://127.0.0.1:8080/…`` it does not), else NOASSERTION with the
    URL kept in ``sourceInfo``."""
    if url and _URL.match(url):
        return {"downloadLocation": url}
    return {"downloadLocation": "NOASSERTION", **({"sourceInfo": f"from {url}"} if url else {})}


def _image_comment(record: BuildRecord) -> str:
    parts = [f"built by archport strategy {record.strategy} for {record.platform}"]
    if record.isa_profile:
        parts.append(f"ISA profile {record.isa_profile}")
    if record.catalog_entry:
        parts.append(f"catalog entry {record.catalog_entry}")
    for s in record.substitutions:
        parts.append(f"substitution: built {s.name} {s.used} instead of {s.wanted}" + (f" ({s.why})" if s.why else ""))
    for f in record.fixups:
        parts.append(f"fixup {f.entry}" + (f": {', '.join(f.modules)}" if f.modules else ""))
    return "; ".join(parts)


def _fixup_notes(record: BuildRecord) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in record.fixups:
        for m in f.modules:
            out[m] = f.entry
    return out


def _go_package(spdx_id: str, mod: GoModule, fixup: str, *, main: bool) -> dict:
    pkg = {"SPDXID": spdx_id, "name": mod.path, "versionInfo": mod.version, "downloadLocation": "NOASSERTION",
           "filesAnalyzed": False, "externalRefs": [_purl(f"pkg:golang/{_purl_path(mod.path)}@{quote(mod.version)}")]}
    notes = ["main module" if main else "Go module"]
    if mod.sum:
        hexsum = h1_hex(mod.sum)
        if hexsum:
            # go.sum's h1: is a SHA-256 (golang.org/x/mod/sumdb/dirhash Hash1)
            pkg["checksums"] = [{"algorithm": "SHA256", "checksumValue": hexsum}]
        notes.append(f"go.sum {mod.sum}")
    if mod.replaced_by:
        notes.append(f"replaced by {mod.replaced_by}")
    fixup = mod.fixup or fixup
    if fixup:
        notes.append(f"version set by the catalog's fixup {fixup}")
    pkg["comment"] = "; ".join(notes)
    return pkg


def h1_hex(s: str) -> str:
    """go.sum's ``h1:`` (base64 SHA-256) as lowercase hex; "" if it is not one."""
    if not s.startswith("h1:"):
        return ""
    try:
        raw = base64.b64decode(s[3:], validate=True)
    except ValueError:
        return ""
    return raw.hex() if len(raw) == 32 else ""


def _file_checksums(f) -> list[dict]:
    out = [_checksum(f.digest)]
    if f.sha1:
        out.insert(0, {"algorithm": "SHA1", "checksumValue": f.sha1})
    return out


def _checksum(digest: str) -> dict:
    algo, _, value = digest.partition(":")
    return {"algorithm": algo.upper(), "checksumValue": value}


def _purl(locator: str) -> dict:
    return {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": locator}


def _purl_path(path: str) -> str:
    return "/".join(quote(p, safe="") for p in path.split("/"))


def _oci_purl(name: str, digest: str, platform: str) -> str:
    last = name.rsplit("/", 1)[-1].split(":")[0].lower()
    purl = f"pkg:oci/{quote(last, safe='')}@{quote(digest, safe='')}"
    qual = [f"repository_url={quote(name, safe='')}"]
    if platform:
        qual.insert(0, f"arch={quote(platform.split('/')[1] if '/' in platform else platform, safe='')}")
    return purl + "?" + "&".join(qual)


def _distro_purl(distro: str, name: str, version: str, arch: str) -> str:
    kind = "deb" if distro == "debian" else "apk"
    return f"pkg:{kind}/{distro}/{quote(name, safe='')}@{quote(version, safe='')}?arch={quote(arch, safe='')}"


def _file_name(path: str) -> str:
    return "./" + path.lstrip("/")


def _rel(a: str, kind: str, b: str) -> dict:
    return {"spdxElementId": a, "relationshipType": kind, "relatedSpdxElement": b}


def _unique(rels: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in rels:
        key = (r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.\-]+", "-", text).strip("-") or "image"


class _Ids:
    """SPDX identifiers: ``SPDXRef-`` then letters, digits, ``.`` and ``-``
    (SPDX 2.3 clause 7.2); the same input always gets the same id, and a
    clash gets a numeric suffix in order of first use (which is sorted)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, hint: str) -> str:
        base = "SPDXRef-" + _safe(hint)
        candidate, n = base, 1
        while candidate in self.used:
            n += 1
            candidate = f"{base}-{n}"
        self.used.add(candidate)
        return candidate
