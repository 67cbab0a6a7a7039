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


class _Doc:
    """The document being built: its ids, packages, files and relationships.
    Each ``add_*`` puts one kind of material in, in the order ``build`` calls
    them (the order decides which of two clashing names gets a suffix)."""

    IMAGE = "SPDXRef-Image"

    def __init__(self, record: BuildRecord) -> None:
        self.record = record
        self.ids = _Ids()
        self.by_path: dict[str, str] = {}
        self.packages: list[dict] = []
        self.files: list[dict] = []
        self.rels = [_rel("SPDXRef-DOCUMENT", "DESCRIBES", self.IMAGE)]

    def file_id(self, path: str) -> str:
        if path not in self.by_path:
            self.by_path[path] = self.ids.make(f"File-{path}")
        return self.by_path[path]

    def package(self, pkg: dict, relation: str = "CONTAINS") -> None:
        self.packages.append(pkg)
        self.rels.append(_rel(self.IMAGE, relation, pkg["SPDXID"]))

    def add_image(self, subject_digest: str, subject_name: str) -> None:
        r, m = self.record, self.record.materials
        image = {
            "SPDXID": self.IMAGE, "name": subject_name, "versionInfo": subject_digest,
            "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
            "primaryPackagePurpose": "CONTAINER",
            "checksums": [_checksum(subject_digest)],
            "externalRefs": [_purl(_oci_purl(subject_name, subject_digest, r.platform))],
            "comment": _image_comment(r),
        }
        if m.files:
            # The files are the image's own layers' (the base image's are named by
            # its digest); SPDX 2.3 clause 7.9: a package with files analysed
            # carries the verification code over their SHA1s.
            image["filesAnalyzed"] = True
            image["packageVerificationCode"] = {"packageVerificationCodeValue": verification_code(m.files)}
        self.packages.append(image)

    def add_source_image(self, kind: str, ref: str, relation: str) -> None:
        if not ref:
            return
        spdx_id = self.ids.make(f"{kind}-image")
        repo, _, digest = ref.partition("@")
        pkg = {"SPDXID": spdx_id, "name": repo, "versionInfo": digest or "NOASSERTION",
               "downloadLocation": "NOASSERTION", "filesAnalyzed": False, "comment": f"{kind} image, by digest"}
        if digest.startswith("sha256:"):
            pkg["checksums"] = [_checksum(digest)]
            pkg["externalRefs"] = [_purl(_oci_purl(repo, digest, self.record.platform if kind == "base" else ""))]
        self.package(pkg, relation)

    def add_go(self) -> None:
        linked = _fixup_notes(self.record)
        seen: dict[str, str] = {}
        for binary in sorted(self.record.materials.go_binaries, key=lambda b: b.path):
            fid = self.file_id(binary.path)
            for mod in (binary.main, *sorted(binary.deps, key=lambda d: (d.path, d.version))):
                key = f"{mod.path}@{mod.version}"
                if key not in seen:
                    seen[key] = self.ids.make(f"Go-{key}")
                    self.package(_go_package(seen[key], mod, linked.get(key, ""), main=mod is binary.main))
                self.rels.append(_rel(fid, "GENERATED_FROM" if mod is binary.main else "DEPENDS_ON", seen[key]))

    def add_distro(self) -> None:
        for p in sorted(self.record.materials.packages, key=lambda p: (p.distro, p.name, p.version, p.arch)):
            pkg = {"SPDXID": self.ids.make(f"{p.distro}-{p.name}-{p.version}"), "name": p.name,
                   "versionInfo": p.version, "downloadLocation": "NOASSERTION",
                   "filesAnalyzed": False, "supplier": "NOASSERTION",
                   "externalRefs": [_purl(_distro_purl(p.distro, p.name, p.version, p.arch))],
                   "comment": f"verified against the signed index {p.index}"
                              + (f" ({p.index_digest})" if p.index_digest else "")
                              + f"; checksum {p.checksum}"}
            if p.checksum.startswith("sha256:"):
                pkg["checksums"] = [_checksum(p.checksum)]
            self.package(pkg)

    def add_assets(self) -> None:
        for a in sorted(self.record.materials.assets, key=lambda a: a.url):
            name = a.url.rsplit("/", 1)[-1]
            self.package({"SPDXID": self.ids.make(f"Asset-{name}"), "name": name, **_location(a.url),
                          "filesAnalyzed": False, "checksums": [_checksum(a.digest)],
                          "comment": "release asset, checked against the checksum from "
                                     + (a.checksum_source or "its release")})

    def add_sources(self) -> None:
        for src in sorted(self.record.materials.sources):
            url, _, digest = src.partition("#")
            name = url.rsplit("/", 1)[-1]
            pkg = {"SPDXID": self.ids.make(f"Source-{name}"), "name": name or url, **_location(url),
                   "filesAnalyzed": False,
                   "comment": ("image copied as is, by digest" if url.startswith("oci://")
                               else "source built into the image")}
            if digest.startswith("sha256:"):
                pkg["checksums"] = [_checksum(digest)]
            self.package(pkg, "GENERATED_FROM")

    def add_files(self) -> None:
        m = self.record.materials
        carried = {c.path: c for c in m.carried}
        for f in sorted(m.files, key=lambda f: f.path):
            fid = self.file_id(f.path)
            entry = {"SPDXID": fid, "fileName": _file_name(f.path), "checksums": _file_checksums(f)}
            c = carried.get(f.path)
            if c is not None:
                entry["comment"] = f"carried over from upstream layer {c.layer}"
            self.files.append(entry)
            self.rels.append(_rel(self.IMAGE, "CONTAINS", fid))

    def relationships(self) -> list[dict]:
        # A relationship may only name elements the document holds: a Go
        # binary's modules hang off its file when the file list has it (a file
        # entry needs its checksums, which only the image's file list gives).
        listed = {f["SPDXID"] for f in self.files}
        files = set(self.by_path.values())
        return _unique([r for r in self.rels if r["spdxElementId"] not in files or r["spdxElementId"] in listed])


def build(record: BuildRecord, subject_digest: str, subject_name: str) -> dict:
    d = _Doc(record)
    d.add_image(subject_digest, subject_name)
    d.add_source_image("upstream", record.upstream, "GENERATED_FROM")
    d.add_source_image("base", record.materials.base, "DESCENDANT_OF")
    d.add_go()
    d.add_distro()
    d.add_assets()
    d.add_sources()
    d.add_files()
    doc = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{subject_name}@{subject_digest}",
        "documentNamespace": f"{NAMESPACE}/{_safe(subject_name)}/{subject_digest.replace(':', '-')}",
        "creationInfo": {"created": record.created or _EPOCH,
                         "creators": [f"Tool: archport-{record.builder.archport or 'unknown'}"]},
        "documentDescribes": [_Doc.IMAGE],
        "packages": d.packages,
        "relationships": d.relationships(),
    }
    if d.files:
        doc["files"] = d.files
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
