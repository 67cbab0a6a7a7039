"""Package databases as an image holds them: who owns which path.

* Alpine — ``lib/apk/db/installed``: one block per package, separated by a
  blank line; ``P:`` name, ``V:`` version, ``A:`` arch, ``o:`` origin,
  ``D:`` dependencies, ``p:`` provides; ``F:`` names a directory and the
  ``R:`` lines after it are files in that directory (apk-tools
  ``src/database.c``, the installed-db writer, and the apk-spec "Installed
  database" section).
* Debian — ``var/lib/dpkg/status``: RFC 822 stanzas (``Package``,
  ``Status``, ``Version``, ``Architecture``, ``Depends``, ``Provides``);
  only ``install ok installed`` counts.  The paths are in
  ``var/lib/dpkg/info/<package>[:<arch>].list``, one absolute path a line,
  directories included (dpkg(1), deb-control(5)).

Paths are kept without the leading slash, the way layer tars name them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Package:
    name: str
    version: str
    arch: str = ""
    origin: str = ""                         # Alpine's origin / Debian's Source
    depends: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    files: tuple[str, ...] = ()              # the paths it installed (dpkg lists its directories too)
    dirs: tuple[str, ...] = ()               # apk's F: directories


@dataclass(frozen=True, slots=True)
class PackageDB:
    distro: str                              # "alpine" | "debian"
    packages: tuple[Package, ...] = ()
    _owners: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for p in self.packages:
            for f in p.files:
                self._owners.setdefault(f, p.name)

    def owner(self, path: str) -> str:
        """The package that installed ``path`` (no leading slash), or ""."""
        return self._owners.get(path.lstrip("/"), "")

    def package(self, name: str) -> Package | None:
        return next((p for p in self.packages if p.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.packages)


APK_DB = "lib/apk/db/installed"
DPKG_STATUS = "var/lib/dpkg/status"
DPKG_INFO = "var/lib/dpkg/info"


def parse_apk(text: str) -> PackageDB:
    packages = []
    for block in re.split(r"\n\s*\n", text.strip()):
        fields: dict[str, str] = {}
        files: list[str] = []
        dirs: list[str] = []
        depends: list[str] = []
        provides: list[str] = []
        cwd = ""
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if not sep or len(key) != 1:
                continue
            if key == "F":
                cwd = value.strip("/")
                dirs.append(cwd)
            elif key == "R":
                files.append(f"{cwd}/{value}" if cwd else value)
            elif key == "D":
                depends += value.split()
            elif key == "p":
                provides += value.split()
            elif key in "PVAo" and key not in fields:
                fields[key] = value
        if "P" in fields:
            packages.append(Package(fields["P"], fields.get("V", ""), fields.get("A", ""), fields.get("o", ""),
                                    tuple(depends), tuple(provides), tuple(files), tuple(dirs)))
    return PackageDB("alpine", tuple(packages))


def _stanzas(text: str) -> list[dict[str, str]]:
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        fields: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line.strip()
                continue
            key, sep, value = line.partition(":")
            if sep:
                fields[key] = value.strip()
        if fields:
            out.append(fields)
    return out


def _names(field_value: str) -> tuple[str, ...]:
    """``a (>= 1), b | c:any`` → ("a", "b | c")."""
    out = []
    for alt in field_value.split(","):
        names = [re.sub(r"\s*\(.*?\)|:\w+", "", x).strip() for x in alt.split("|")]
        names = [n for n in names if n]
        if names:
            out.append(" | ".join(names))
    return tuple(out)


def parse_dpkg(status: str, lists: dict[str, str]) -> PackageDB:
    """``lists`` maps an ``info/*.list`` file's name (``bash.list``,
    ``libc6:amd64.list``) to its text."""
    by_pkg: dict[str, str] = {}
    for name, text in lists.items():
        by_pkg[name.removesuffix(".list")] = text
    packages = []
    for s in _stanzas(status):
        if s.get("Status", "").split()[-1:] != ["installed"]:
            continue
        name, arch = s.get("Package", ""), s.get("Architecture", "")
        listing = by_pkg.get(f"{name}:{arch}", by_pkg.get(name, ""))
        files = [p for p in (line.strip().lstrip("/") for line in listing.splitlines()) if p and p != "."]
        packages.append(Package(name, s.get("Version", ""), arch, s.get("Source", "").split(" ")[0],
                                _names(s.get("Pre-Depends", "")) + _names(s.get("Depends", "")),
                                _names(s.get("Provides", "")), tuple(files)))
    return PackageDB("debian", tuple(packages))
