"""Which RISC-V extensions an image's binaries need, and whether a target has them.

No OCI platform field says that a ``linux/riscv64`` image was built for
RVA23: it runs until its first vector instruction, then dies with SIGILL
(exit code 132).  The binaries say it themselves:

* every RISC-V ELF a C/C++/Rust toolchain links carries ``Tag_RISCV_arch``
  in ``.riscv.attributes`` (:mod:`archport.binaries.riscv`), the extensions
  its code was compiled for, and ``.comment`` names the compiler;
* a Go binary carries none, but its build info records ``GORISCV64``
  (:mod:`archport.binaries.buildinfo`), and Go promises to use only what
  that profile mandates; no setting is the default, ``rva20u64``.

A binary's need is the union of both (a cgo binary has both).  The lowest
profile that covers it is :func:`archport.catalog.riscv.lowest_profile`.
Given a :class:`Target` (a profile, an ISA string, or a board's CPU), a
binary that needs an extension the target lacks is an error; with none,
an image above RVA20U64 is a warning, since most boards in use are RV64GC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

from ..binaries.buildinfo import read_buildinfo
from ..binaries.elf import identify, is_elf
from ..binaries.riscv import parse_isa, read_attributes
from ..catalog import riscv as profiles
from ..errors import BadInput
from ..imagefs import FILE, RootFS
from .findings import ERROR, WARNING, Finding

SIGILL = "Illegal instruction (SIGILL)"          # what a shell, and the container's log, says
SIGILL_EFFECT = "container exits with code 132 (128 + SIGILL): CrashLoopBackOff"


@dataclass(frozen=True, slots=True)
class BuiltBy:
    """What made a binary need what it needs."""

    kind: str                  # "go" | "attributes"
    go_version: str = ""
    goriscv64: str = ""        # as recorded; "" means Go's default (rva20u64)
    arch: str = ""             # Tag_RISCV_arch as written
    producer: str = ""         # .comment's first string

    def describe(self) -> str:
        if self.kind == "go":
            value = self.goriscv64 or f"unset, so {profiles.load().go_default}"
            return f"Go {self.go_version}, GORISCV64={value}"
        return f"Tag_RISCV_arch {self.arch}" + (f" ({self.producer})" if self.producer else "")

    def to_dict(self) -> dict:
        d: dict = {"kind": self.kind}
        if self.kind == "go":
            d.update(go_version=self.go_version, goriscv64=self.goriscv64 or None)
        else:
            d.update(arch=self.arch, producer=self.producer or None)
        return d


@dataclass(frozen=True, slots=True)
class Requirement:
    path: str
    extensions: frozenset[str]       # closed, trapping only
    profile: str | None              # lowest profile that runs it; None: beyond every profile
    built_by: tuple[BuiltBy, ...]
    unknown: str = ""                # a GORISCV64 value the catalog does not know

    @property
    def shown(self) -> tuple[str, ...]:
        """The extensions, without those the others imply."""
        return profiles.minimal(self.extensions)

    def describe_origin(self) -> str:
        return "; ".join(b.describe() for b in self.built_by)

    def to_dict(self) -> dict:
        return {"path": self.path, "profile": self.profile, "extensions": list(self.shown),
                "beyond_baseline": list(profiles.beyond(self.extensions, profiles.load().profiles[0])),
                "built_by": [b.to_dict() for b in self.built_by]}


@dataclass(frozen=True, slots=True)
class Target:
    """What the binaries must run on."""

    name: str                        # "RVA22U64", "--isa rv64gc_zba_zbb", "board vf2 (…)"
    extensions: frozenset[str]
    profile: str | None = None       # the profile the target is or meets

    def to_dict(self) -> dict:
        return {"name": self.name, "profile": self.profile, "extensions": sorted(self.extensions)}


def target_profile(name: str) -> Target:
    p = profiles.profile(name)
    return Target(p.title, profiles.profile_extensions(p), p.name)


def target_isa(isa: str) -> Target:
    try:
        xlen, exts = parse_isa(isa)
    except BadInput as e:
        raise BadInput(f"--isa {isa!r}: {e}") from None
    if xlen != 64:
        raise BadInput(f"--isa {isa!r}: riscv64 images need an rv64 ISA string")
    met = profiles.met_profile(exts)
    return Target(f"ISA {isa}", profiles.linux_provides(exts), met.name if met else None)


def target_board(name: str, extensions: Iterable[str], profile: str | None) -> Target:
    return Target(f"board {name}", profiles.linux_provides(extensions), profile)


# --- reading the image ----------------------------------------------------------

def requirement(path: str, stream) -> Requirement | None:
    """What one ELF (a seekable stream at any position) needs; None when it says nothing."""
    stream.seek(0)
    attrs = read_attributes(stream)
    stream.seek(0)
    info = read_buildinfo(stream)
    built: list[BuiltBy] = []
    need: set[str] = set()
    unknown = ""
    if info is not None:
        p = profiles.go_profile(info.goriscv64)
        built.append(BuiltBy("go", go_version=info.go_version, goriscv64=info.goriscv64))
        if p is None:
            unknown = info.goriscv64
        else:
            need |= profiles.profile_extensions(p)
    if attrs is not None and attrs.arch:
        built.append(BuiltBy("attributes", arch=attrs.arch, producer=attrs.producer))
        need |= profiles.closure(attrs.extensions)
    if not built:
        return None
    need_t = profiles.trapping(profiles.closure(need))
    low = profiles.lowest_profile(need_t) if not unknown else None
    return Requirement(path, frozenset(need_t), low.name if low else None, tuple(built), unknown)


def requirements(fs: RootFS) -> tuple[list[Requirement], list[Finding]]:
    """The need of every RISC-V ELF in the merged view, and the files that
    could not be read (warnings: the kernel may still run them)."""
    out: list[Requirement] = []
    problems: list[Finding] = []
    for path, node in sorted(fs.walk()):
        if node.kind != FILE or not is_elf(node.head):
            continue
        hdr = identify(node.head)
        if hdr is None or hdr.goarch != "riscv64":
            continue
        stream = fs.open(node)
        if stream is None:
            continue
        try:
            r = requirement(path, stream)
        except BadInput as e:
            problems.append(Finding(WARNING, "isa-unreadable", f"{path}: cannot read what it needs: {e}", path))
            continue
        if r is not None:
            out.append(r)
    return out, problems


# --- judging ----------------------------------------------------------------------

def highest(reqs: Iterable[Requirement]) -> tuple[str | None, bool]:
    """The profile the image needs (the highest of its binaries') and whether
    some binary needs more than any profile."""
    order = [p.name for p in profiles.load().profiles]
    names = [r.profile for r in reqs]
    beyond = any(n is None for n in names)
    known = [order.index(n) for n in names if n is not None]
    return (order[max(known)] if known else None), beyond


def judge(reqs: list[Requirement], target: Target | None) -> Iterator[Finding]:
    if target is not None:
        for r in reqs:
            if r.unknown:
                yield Finding(WARNING, "isa-unknown", f"{r.path} was built with GORISCV64={r.unknown}, "
                              f"which archport does not know; cannot tell whether {target.name} runs it", r.path)
                continue
            lacking = profiles.missing(r.extensions, target.extensions)
            if lacking:
                yield Finding(ERROR, "isa-mismatch",
                              f"{r.path} needs {', '.join(lacking)}, which {target.name} lacks "
                              f"(built with {r.describe_origin()})", r.path,
                              runtime_error=SIGILL, effect=SIGILL_EFFECT)
        return
    base = profiles.load().profiles[0]
    above = [r for r in reqs if r.profile != base.name]
    if not above:
        return
    for r in above:
        if r.unknown:
            yield Finding(WARNING, "isa-unknown", f"{r.path} was built with GORISCV64={r.unknown}, "
                          "which archport does not know", r.path)
            continue
        extra = profiles.beyond(r.extensions, base)
        what = f"needs {r.profile.upper()}" if r.profile else "needs more than any RVA profile"
        yield Finding(WARNING, "isa-profile",
                      f"{r.path} {what} ({', '.join(extra)} beyond {base.title}; built with "
                      f"{r.describe_origin()}): it dies with SIGILL on RV64GC boards such as the VisionFive 2",
                      r.path, runtime_error=SIGILL, effect=SIGILL_EFFECT)
