"""Put the transplanted root together: which entry wins each path, and why.

Sources, in the order a later one wins a path:

1. the upstream image's entries that no package owns (scripts, configs,
   busybox's applet links, directories with their modes and owners) and its
   account files;
2. the target distribution's packages, unpacked;
3. the target's aliased top-level directories: Debian since trixie ships
   ``/bin``, ``/sbin`` and ``/lib`` as links into ``/usr`` (base-files,
   DEP 17: https://wiki.debian.org/UsrMerge);
4. binaries rebuilt for the target;
5. what the configure steps made (alternatives links, the CA bundle, the
   package database).

A directory keeps the first owner and mode it was given (upstream's, for
the directories the image had).  A path that passes through an aliased
directory is written where the alias leads (``bin/sh`` → ``usr/bin/sh``),
and a relative symlink that moves is made absolute, so that it still names
what it named before.  Every replacement of an upstream entry by another
source's is recorded.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from ..assemble.layer import FileSpec


@dataclass
class Userland:
    """What a base distribution contributes: its packages unpacked, the
    aliased top-level directories it ships, and its configure steps."""

    label: str                                   # "Debian trixie riscv64", "Alpine v3.20 riscv64"
    source: str                                  # where the packages came from, for provenance
    packages: list[tuple[str, tuple[FileSpec, ...]]]   # (label, entries) per package
    aliases: dict[str, str]
    alias_label: str
    configured: list[FileSpec]
    records: list[str]
    versions: str                                # "name=version,…"
    count: int
    # Each package as it was verified (archport.attest.model.DistroPackage), for the build record.
    materials: tuple = ()


@dataclass
class Composed:
    files: dict[str, tuple[str, FileSpec]] = field(default_factory=dict)   # path -> (source label, entry)
    moved: list[str] = field(default_factory=list)          # "bin/sh -> usr/bin/sh"
    replaced: list[str] = field(default_factory=list)       # "usr/bin/x: upstream's replaced by the package's"

    def specs(self) -> list[FileSpec]:
        return [spec for _, (_, spec) in sorted(self.files.items())]


def aliased(path: str, aliases: Mapping[str, str]) -> str:
    """``path`` with a leading aliased directory replaced by where it leads."""
    head, sep, rest = path.partition("/")
    if head in aliases and sep:
        return f"{aliases[head]}/{rest}"
    return path


def _canonical(spec: FileSpec, aliases: Mapping[str, str]) -> FileSpec:
    path = aliased(spec.path, aliases)
    if path == spec.path:
        return spec
    target = spec.target
    if spec.kind == "symlink" and not target.startswith("/"):
        # Resolve against where the link was, so it names the same thing from its new place.
        target = posixpath.normpath("/" + posixpath.join(posixpath.dirname(spec.path), target))
    return replace(spec, path=path, target=target)


def compose(layers: Iterable[tuple[str, Iterable[FileSpec]]], aliases: Mapping[str, str]) -> Composed:
    """``layers``: (label, entries) in increasing precedence; the first label
    is the upstream image's."""
    out = Composed()
    for label, specs in layers:
        for raw in specs:
            if raw.path.startswith("/") or raw.path.endswith("/"):
                raw = replace(raw, path=raw.path.strip("/"))
            spec = _canonical(raw, aliases)
            if spec.path != raw.path:
                out.moved.append(f"{raw.path} -> {spec.path}")
            if raw.path in aliases and raw.kind == "dir":
                continue                                    # the alias link replaces the directory
            have = out.files.get(spec.path)
            if have is not None:
                old_label, old = have
                if old.kind == "dir" and spec.kind == "dir":
                    continue                                # the first mode and owner stay
                if old_label != label and old != spec:
                    out.replaced.append(f"/{spec.path}: {old_label}'s {old.kind} replaced by {label}'s {spec.kind}")
            out.files[spec.path] = (label, spec)
    return out


def alias_links(entries: Iterable[FileSpec]) -> dict[str, str]:
    """The aliased top-level directories a base package ships: top-level
    symlinks to a directory under ``usr/`` (``bin -> usr/bin``)."""
    out = {}
    for e in entries:
        if e.kind == "symlink" and "/" not in e.path and e.target.lstrip("/").startswith("usr/"):
            out[e.path] = e.target.lstrip("/").rstrip("/")
    return out


def moved_by_target(owned: Iterable[str], out: Composed) -> list[str]:
    """Upstream package paths the target's packages put elsewhere
    (``bin/busybox`` on Alpine, ``usr/bin/busybox`` on Debian), as links to
    where they are now, so that carried links and scripts naming the old
    path still work; returns a record line per link.  Only the /usr move is
    followed (DEP 17); a path with no counterpart stays absent."""
    made = []
    for raw in owned:
        path = raw.strip("/")
        if path in out.files:
            continue
        other = path[4:] if path.startswith("usr/") else "usr/" + path
        have = out.files.get(other)
        if have is None or have[1].kind == "dir" or not _parent_is_dir(path, out):
            continue
        out.files[path] = ("compat", FileSpec(path, kind="symlink", target="/" + other, mode=0o777))
        made.append(f"/{path} -> /{other}")
    return made


def _parent_is_dir(path: str, out: Composed) -> bool:
    """No ancestor of ``path`` is a link or a file (a link there would be written through)."""
    parent = posixpath.dirname(path)
    while parent:
        have = out.files.get(parent)
        if have is not None and have[1].kind != "dir":
            return False
        parent = posixpath.dirname(parent)
    return True
