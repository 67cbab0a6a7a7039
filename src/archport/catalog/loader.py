"""Read the TOML files shipped in this package and validate them into values.

Validation is strict, because the catalog is reviewed like code: unknown keys,
a fact table without ``source``, a reference that does not parse or a version
range that does not parse make :func:`load` fail naming the file and table.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tomllib
from importlib import resources

from .. import reference
from ..errors import ArchportError, BadInput
from . import versions
from .model import Binary, Blocked, LocalModule, Substitute
from .smoke import RecipeError, parse as parse_smoke
from .model import (Alternative, Catalog, CBuild, Component, ImageContract, DebPackage, Distro, GoBuild,
                    Image, Knob, ReleaseAsset, Provenance)
from .releases import Fixup, K3sRelease, Missing, ReleaseAssets

_PROVENANCE = {"source", "verified", "note"}
KINDS = ("go", "c", "deb", "distro")
KNOB_KINDS = ("flag", "manifest", "helmchart", "config")


class CatalogError(ArchportError):
    """A catalog file is malformed: a bug in archport's data, not the user's input."""


@functools.cache
def load() -> Catalog:
    """The catalog shipped with archport (parsed once per process)."""
    root = resources.files(__package__)
    texts = {"releases.toml": (root / "releases.toml").read_text("utf-8"),
             "fixups.toml": (root / "fixups.toml").read_text("utf-8")}
    comp_dir = root / "components"
    for entry in sorted(comp_dir.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            texts[f"components/{entry.name}"] = entry.read_text("utf-8")
    return load_texts(texts)


def load_texts(texts: dict[str, str]) -> Catalog:
    """Build a catalog from file name → TOML text (tests feed broken data here)."""
    docs = {}
    for name, text in texts.items():
        try:
            docs[name] = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise CatalogError(f"catalog {name}: {e}") from None
    try:
        rel = docs.get("releases.toml", {})
        _keys(rel, {"release", "missing", "assets"}, "releases.toml")
        assets = _assets(rel["assets"], "releases.toml assets") if "assets" in rel else None
        releases = tuple(_release(t, f"releases.toml release[{i}]") for i, t in enumerate(rel.get("release", [])))
        missing = tuple(_missing(t, f"releases.toml missing[{i}]") for i, t in enumerate(rel.get("missing", [])))
        fix = docs.get("fixups.toml", {})
        _keys(fix, {"fixup"}, "fixups.toml")
        fixups = tuple(_fixup(t, f"fixups.toml fixup[{i}]") for i, t in enumerate(fix.get("fixup", [])))
        components = tuple(_component(d, n) for n, d in docs.items() if n.startswith("components/"))
    except BadInput as e:  # a version or reference in our own data did not parse
        raise CatalogError(str(e)) from None
    _cross_check(releases, components, fixups)
    return Catalog(releases, missing, components, fixups, tuple(sorted(texts)), assets)


def extend(base: Catalog, name: str, text: str) -> Catalog:
    """``base`` with a user's extra file merged in (``port --catalog``).

    The file is a component file (the keys of ``components/*.toml``) that may
    also carry ``[[fixup]]`` tables, or a file of ``[[component]]`` and
    ``[[fixup]]`` tables.  Entries replace ours of the same name or id, and
    the same rules apply (every fact names its source)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CatalogError(f"{name}: {e}") from None
    components, fixups = list(base.components), list(base.fixups)
    try:
        for i, t in enumerate(doc.pop("fixup", [])):
            fixups = [f for f in fixups if f.id != t.get("id")] + [_fixup(t, f"{name} fixup[{i}]")]
        tables = doc.pop("component", [])
        if doc:
            tables = [doc, *tables]
        for i, t in enumerate(tables):
            comp = _component(t, f"{name} component[{i}]")
            components = [c for c in components if c.name != comp.name] + [comp]
    except BadInput as e:
        raise CatalogError(f"{name}: {e}") from None
    _cross_check(base.releases, tuple(components), tuple(fixups))
    return dataclasses.replace(base, components=tuple(components), fixups=tuple(fixups),
                               files=(*base.files, name))


# -- tables -------------------------------------------------------------------

def _source(t: dict, where: str) -> Provenance:
    url = t.get("source")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise CatalogError(f"catalog {where}: every fact needs source = \"https://…\" (the upstream file, "
                           f"release, issue or commit that states it)")
    verified = t.get("verified", True)
    if not isinstance(verified, bool):
        raise CatalogError(f"catalog {where}: verified must be true or false")
    note = t.get("note", "")
    if not verified and not note:
        raise CatalogError(f"catalog {where}: an unverified fact needs a note saying why")
    return Provenance(url, verified, _str(t, "note", where, ""))


def _release(t, where) -> K3sRelease:
    _keys(t, {"version", "kubernetes", "images", "components", "components_source"} | _PROVENANCE, where)
    images = _strs(t, "images", where)
    for i in images:
        _image_ref(i, where)
    comps = t.get("components", {})
    if not isinstance(comps, dict) or not all(isinstance(v, str) for v in comps.values()):
        raise CatalogError(f"catalog {where}: components must map names to version strings")
    csrc = None
    if comps:
        cs = t.get("components_source")
        if not isinstance(cs, dict):
            raise CatalogError(f"catalog {where}: components need a components_source table")
        _keys(cs, _PROVENANCE, where + ".components_source")
        csrc = _source(cs, where + ".components_source")
    version = _str(t, "version", where)
    versions.parse(version)
    return K3sRelease(version, _str(t, "kubernetes", where), images, tuple(sorted(comps.items())),
                   _source(t, where), csrc)


def _assets(t, where) -> ReleaseAssets:
    _keys(t, {"url", "images"} | _PROVENANCE, where)
    url = _str(t, "url", where)
    if not url.startswith("https://"):
        raise CatalogError(f"catalog {where}: url must be https://")
    return ReleaseAssets(url.rstrip("/"), _str(t, "images", where), _source(t, where))


def _missing(t, where) -> Missing:
    _keys(t, {"version", "reason"} | _PROVENANCE, where)
    return Missing(_str(t, "version", where), _str(t, "reason", where), _source(t, where))


def _fixup(t, where) -> Fixup:
    _keys(t, {"id", "module", "bad", "good", "go", "goarch", "symptom", "action", "alternative",
              "components"} | _PROVENANCE, where)
    action = _str(t, "action", where)
    if action not in ("require", "vendor", "ldflags"):
        raise CatalogError(f"catalog {where}: action must be require, vendor or ldflags")
    good = _str(t, "good", where, "")
    if good:
        versions.parse(good)
    return Fixup(_str(t, "id", where), _str(t, "module", where), versions.parse_range(_str(t, "bad", where, "")),
                 good, versions.parse_range(_str(t, "go", where, ""), go=True), _strs(t, "goarch", where),
                 _str(t, "symptom", where), action, _str(t, "alternative", where, ""),
                 _strs(t, "components", where), _source(t, where))


def _component(d: dict, name: str) -> Component:
    where = f"catalog {name}"
    _keys(d, {"name", "description", "kind", "module_version", "image", "go", "c", "deb", "distro",
              "contract", "release", "alternative", "knob", "substitute", "binary", "smoke", "blocked"}, name)
    kind = _str(d, "kind", name)
    if kind not in KINDS:
        raise CatalogError(f"{where}: kind must be one of {', '.join(KINDS)}")

    def each(key, build):
        return tuple(build(t, f"{name} {key}[{i}]") for i, t in enumerate(d.get(key, [])))

    comp = Component(
        name=_str(d, "name", name), description=_str(d, "description", name), kind=kind,
        module_version=_str(d, "module_version", name, "{tag}"),
        images=each("image", _image), go=each("go", _go), c=each("c", _c), deb=each("deb", _deb),
        distro=each("distro", _distro), contracts=each("contract", _contract),
        releases=each("release", _asset), alternatives=each("alternative", _alternative),
        knobs=each("knob", _knob), substitutes=each("substitute", _substitute), binaries=each("binary", _binary),
        smokes=each("smoke", _smoke), blocked=each("blocked", _blocked),
    )
    if not comp.images:
        raise CatalogError(f"{where}: a component needs at least one [[image]]")
    if not getattr(comp, kind if kind != "distro" else "distro"):
        raise CatalogError(f"{where}: kind = {kind!r} needs at least one [[{kind}]] table")
    return comp


def _image(t, where) -> Image:
    _keys(t, {"repository", "upstream", "mirrors"} | _PROVENANCE, where)
    repo = _image_ref(_str(t, "repository", where), where)
    upstream = _image_ref(_str(t, "upstream", where, repo), where)
    mirrors = _str(t, "mirrors", where, "")
    if mirrors and (_image_ref(mirrors, where) != mirrors or reference.parse(mirrors).tag
                    or reference.parse(mirrors).digest):
        raise CatalogError(f"catalog {where}: mirrors names a repository without tag or digest")
    return Image(repo, upstream, _source(t, where), mirrors)


def _go(t, where) -> GoBuild:
    _keys(t, {"versions", "module", "package", "ldflags", "x", "cgo", "tags", "vendored"} | _PROVENANCE, where)
    x = t.get("x", {})
    if not isinstance(x, dict) or not all(isinstance(v, str) for v in x.values()):
        raise CatalogError(f"catalog {where}: x maps -X variables to value templates")
    return GoBuild(_range(t, where), _str(t, "module", where), _str(t, "package", where, "."),
                   _strs(t, "ldflags", where), tuple(x.items()), _bool(t, "cgo", where),
                   _strs(t, "tags", where), _bool(t, "vendored", where), _source(t, where))


def _c(t, where) -> CBuild:
    _keys(t, {"versions", "repository", "files", "cflags", "module", "module_version", "sha256"} | _PROVENANCE,
          where)
    pins = t.get("sha256", {})
    if not isinstance(pins, dict) or not all(
            isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v) for v in pins.values()):
        raise CatalogError(f"{where}: sha256 must map each file to 64 lowercase hex characters")
    return CBuild(_range(t, where), _str(t, "repository", where), _strs(t, "files", where),
                  _strs(t, "cflags", where), _source(t, where), _str(t, "module", where, ""),
                  _str(t, "module_version", where, ""), tuple(sorted(pins.items())))


def _deb(t, where) -> DebPackage:
    _keys(t, {"versions", "package", "suite", "binary", "architectures", "list_links", "links"} | _PROVENANCE,
          where)
    return DebPackage(_range(t, where), _str(t, "package", where), _str(t, "suite", where),
                      _str(t, "binary", where), _strs(t, "architectures", where), _source(t, where),
                      _strs(t, "list_links", where) if "list_links" in t else (),
                      _strs(t, "links", where) if "links" in t else ())


def _distro(t, where) -> Distro:
    _keys(t, {"versions", "base", "reason", "transplant_needs", "onto", "iptables", "entry_commands"} | _PROVENANCE,
          where)
    iptables = _str(t, "iptables", where, "")
    if iptables not in ("", "entry"):
        raise CatalogError(f"catalog {where}: iptables must be \"entry\" (the entry script chooses) or absent")
    # onto: one base, or bases in order of preference (the first usable wins).
    onto = (_str(t, "onto", where),) if isinstance(t.get("onto"), str) else _strs(t, "onto", where)
    for base in onto:
        if not re.fullmatch(r"debian:[a-z]+|alpine:(\d+\.\d+|edge)", base):
            raise CatalogError(f"catalog {where}: onto must be debian:SUITE or alpine:VERSION, or a list of them")
    return Distro(_range(t, where), _str(t, "base", where), _str(t, "reason", where),
                  _strs(t, "transplant_needs", where), _source(t, where), onto, iptables,
                  _strs(t, "entry_commands", where))


def _binary(t, where) -> Binary:
    _keys(t, {"versions", "path", "module", "version", "package", "ldflags", "x", "tags", "gomod", "local"}
          | _PROVENANCE, where)
    x = t.get("x", {})
    if not isinstance(x, dict) or not all(isinstance(v, str) for v in x.values()):
        raise CatalogError(f"catalog {where}: x maps -X variables to value templates")
    path = _str(t, "path", where)
    if not path.startswith("/"):
        raise CatalogError(f"catalog {where}: path must be absolute")
    version = _str(t, "version", where, "")
    if version:
        versions.parse(version)
    return Binary(_range(t, where), path, _str(t, "module", where), version, _str(t, "package", where, "."),
                  _strs(t, "ldflags", where), tuple(x.items()), _strs(t, "tags", where), _source(t, where),
                  _gomod(t, where), _locals(t, where))


def _gomod(t, where) -> str:
    """The text of the catalog/gomod/ file a [[binary]] names, checked to be a go.mod."""
    name = _str(t, "gomod", where, "")
    if not name:
        return ""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.mod", name):
        raise CatalogError(f"catalog {where}: gomod names a file in catalog/gomod/ (NAME.mod)")
    f = resources.files(__package__).joinpath("gomod", name)
    if not f.is_file():
        raise CatalogError(f"catalog {where}: gomod {name}: no such file in catalog/gomod/")
    text = f.read_text()
    if not re.search(r"(?m)^module \S+$", text):
        raise CatalogError(f"catalog {where}: gomod {name} has no module line")
    return text


def _locals(t, where) -> tuple[LocalModule, ...]:
    raw = t.get("local", {})
    if not isinstance(raw, dict):
        raise CatalogError(f"catalog {where}: local maps module paths to {{ source, files }}")
    out = []
    for module, spec in sorted(raw.items()):
        ok = (isinstance(spec, dict) and set(spec) == {"source", "files"} and isinstance(spec["source"], str)
              and re.fullmatch(r"[^@\s]+@v\S+", spec["source"]) and isinstance(spec["files"], dict)
              and all(isinstance(k, str) and isinstance(v, str) and ".." not in k.split("/") + v.split("/")
                      and not k.startswith("/") and not v.startswith("/") for k, v in spec["files"].items()))
        if not ok or not re.fullmatch(r"[a-z0-9.-]+(/[A-Za-z0-9._-]+)*", module):
            raise CatalogError(f"catalog {where}: local {module!r} needs source = \"MODULE@VERSION\" and files "
                               f"mapping relative paths")
        out.append(LocalModule(module, spec["source"], tuple(sorted(spec["files"].items()))))
    return tuple(out)


def _smoke(t, where):
    try:
        return parse_smoke(t, where, _source(t, where))
    except RecipeError as e:
        raise CatalogError(str(e)) from None


def _blocked(t, where) -> Blocked:
    _keys(t, {"versions", "what", "module", "reason"} | _PROVENANCE, where)
    return Blocked(_range(t, where), _str(t, "what", where), _str(t, "reason", where), _source(t, where),
                   _str(t, "module", where, ""))


def _substitute(t, where) -> Substitute:
    _keys(t, {"module", "refused", "version", "reason"} | _PROVENANCE, where)
    version = _str(t, "version", where)
    versions.parse(version)
    return Substitute(_str(t, "module", where), versions.parse_range(_str(t, "refused", where)), version,
                      _str(t, "reason", where), _source(t, where))


def _contract(t, where) -> ImageContract:
    _keys(t, {"versions", "binary", "entrypoint", "cmd", "user", "working_dir", "exposed_ports", "base",
              "upstream_platforms"} | _PROVENANCE, where)
    # TOML has no null: an absent entrypoint/cmd means "not set in the config".
    ep = _strs(t, "entrypoint", where) if "entrypoint" in t else None
    cmd = _strs(t, "cmd", where) if "cmd" in t else None
    return ImageContract(_range(t, where), _str(t, "binary", where), ep, cmd, _str(t, "user", where, ""),
                    _str(t, "working_dir", where, ""), _strs(t, "exposed_ports", where),
                    _str(t, "base", where), _strs(t, "upstream_platforms", where), _source(t, where))


def _asset(t, where) -> ReleaseAsset:
    _keys(t, {"versions", "url", "checksum_url", "checksum_format", "archive", "member",
              "architectures"} | _PROVENANCE, where)
    fmt = _str(t, "checksum_format", where)
    if fmt not in ("sha256sum", "checksums.txt"):
        raise CatalogError(f"catalog {where}: checksum_format must be sha256sum or checksums.txt")
    return ReleaseAsset(_range(t, where), _str(t, "url", where), _str(t, "checksum_url", where), fmt,
                        _str(t, "archive", where), _str(t, "member", where), _strs(t, "architectures", where),
                        _source(t, where))


def _alternative(t, where) -> Alternative:
    _keys(t, {"versions", "image", "tag", "platforms", "contract_note"} | _PROVENANCE, where)
    image = _image_ref(_str(t, "image", where), where)
    return Alternative(_range(t, where), image, _str(t, "tag", where, "{tag}"), _strs(t, "platforms", where),
                       _str(t, "contract_note", where, ""), _source(t, where))


def _knob(t, where) -> Knob:
    _keys(t, {"kind", "name", "detail"} | _PROVENANCE, where)
    kind = _str(t, "kind", where)
    if kind not in KNOB_KINDS:
        raise CatalogError(f"catalog {where}: knob kind must be one of {', '.join(KNOB_KINDS)}")
    return Knob(kind, _str(t, "name", where), _str(t, "detail", where, ""), _source(t, where))


# -- helpers ------------------------------------------------------------------

def _cross_check(releases, components, fixups) -> None:
    names = {c.name for c in components}
    if len(names) != len(components):
        raise CatalogError("catalog: two component files use the same name")
    for r in releases:
        for image in r.images:
            ref = reference.parse(image)
            if not any(c.matches(ref) for c in components):
                raise CatalogError(f"catalog releases.toml {r.version}: no component owns image {image}")
    for f in fixups:
        unknown = set(f.components) - names
        if unknown:
            raise CatalogError(f"catalog fixups.toml {f.id}: unknown components {sorted(unknown)}")


def _image_ref(text: str, where: str) -> str:
    """Images are written in familiar form; the domain is implied, never spelled."""
    try:
        ref = reference.parse(text)
    except BadInput as e:
        raise CatalogError(f"catalog {where}: {e}") from None
    if text.split("/", 1)[0] == ref.domain:
        raise CatalogError(f"catalog {where}: write {text!r} without a registry host")
    return text


def _range(t, where):
    return versions.parse_range(_str(t, "versions", where, ""))


def _keys(t, allowed: set[str], where: str) -> None:
    if not isinstance(t, dict):
        raise CatalogError(f"catalog {where}: expected a table")
    extra = set(t) - allowed
    if extra:
        raise CatalogError(f"catalog {where}: unknown keys {sorted(extra)}")


def _str(t, key, where, default=None) -> str:
    v = t.get(key, default)
    if not isinstance(v, str):
        raise CatalogError(f"catalog {where}: {key} must be a string")
    return v


def _strs(t, key, where) -> tuple[str, ...]:
    v = t.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise CatalogError(f"catalog {where}: {key} must be a list of strings")
    return tuple(v)


def _bool(t, key, where) -> bool:
    v = t.get(key, False)
    if not isinstance(v, bool):
        raise CatalogError(f"catalog {where}: {key} must be true or false")
    return v
