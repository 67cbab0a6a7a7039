"""Platforms (os/arch/variant) as the OCI image index names them.

Architectures follow GOARCH (image-spec ``image-index.md``); ``uname -m`` names
are mapped the way containerd's ``platforms.Normalize`` does.  riscv64 carries
no variant: registries and containerd expect none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BadInput

# uname -m / distro names -> (GOARCH, default variant)
_ARCH_ALIASES: dict[str, tuple[str, str]] = {
    "x86_64": ("amd64", ""), "x86-64": ("amd64", ""), "amd64": ("amd64", ""),
    "aarch64": ("arm64", ""), "arm64": ("arm64", ""), "armv8l": ("arm64", ""),
    "armhf": ("arm", "v7"), "armv7l": ("arm", "v7"), "armv7": ("arm", "v7"),
    "armel": ("arm", "v6"), "armv6l": ("arm", "v6"), "armv6": ("arm", "v6"),
    "armv5l": ("arm", "v5"), "arm": ("arm", "v7"),
    "i386": ("386", ""), "i486": ("386", ""), "i586": ("386", ""), "i686": ("386", ""), "386": ("386", ""),
    "riscv64": ("riscv64", ""),
    "ppc64le": ("ppc64le", ""), "s390x": ("s390x", ""),
    "loongarch64": ("loong64", ""), "loong64": ("loong64", ""),
    "mips64el": ("mips64le", ""), "mips64le": ("mips64le", ""),
}


_OSES = ("linux", "windows", "darwin", "freebsd")
# GOARCH and variant names are ASCII identifiers (go/build syslist.go), and
# the uname aliases above add "-": anything else never matches an index
# entry and would only fail later, after the network work.
_COMPONENT = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True, order=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        s = f"{self.os}/{self.architecture}"
        return f"{s}/{self.variant}" if self.variant else s

    def to_dict(self) -> dict:
        d = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            d["variant"] = self.variant
        return d

    @classmethod
    def from_dict(cls, d: dict | None) -> "Platform | None":
        if not d or not d.get("os") or not d.get("architecture"):
            return None
        return normalize(Platform(d["os"], d["architecture"], d.get("variant", "") or ""))

    def matches(self, other: "Platform") -> bool:
        """Same normalized os/arch/variant (arm64 ``v8`` equals no variant)."""
        return normalize(self) == normalize(other)


def normalize(p: Platform) -> Platform:
    arch, default_variant = _ARCH_ALIASES.get(p.architecture.lower(), (p.architecture.lower(), ""))
    variant = p.variant.lower()
    if arch == "arm64" and variant in ("v8", "8"):
        variant = ""
    elif arch == "arm" and not variant:
        variant = default_variant or "v7"
    elif arch == "arm" and variant.isdigit():
        variant = "v" + variant
    elif arch in ("riscv64", "amd64") and variant in ("", "v1"):
        variant = ""
    return Platform(p.os.lower(), arch, variant)


def parse(text: str) -> Platform:
    """``linux/riscv64``, ``linux/arm/v7``, ``riscv64`` (os defaults to linux)."""
    parts = text.strip().split("/")
    if not text.strip() or len(parts) > 3 or any(not x for x in parts):
        raise BadInput(f"invalid platform {text!r}: expected OS/ARCH[/VARIANT]")
    if len(parts) == 1:
        parts = ["linux", parts[0]]
    os_, arch = parts[0], parts[1]
    variant = parts[2] if len(parts) == 3 else ""
    if os_ not in _OSES:
        raise BadInput(f"invalid platform {text!r}: unknown OS {os_!r}")
    if arch.lower() in _OSES:
        raise BadInput(f"invalid platform {text!r}: {arch!r} is an OS, not an architecture "
                       f"(expected OS/ARCH, e.g. linux/riscv64)")
    for what, value in (("architecture", arch), ("variant", variant)):
        if value and not _COMPONENT.fullmatch(value):
            raise BadInput(f"invalid platform {text!r}: bad {what} {value!r} (ASCII letters, digits, _ and - only)")
    return normalize(Platform(os_, arch, variant))


def from_uname(machine: str, os_: str = "linux") -> Platform:
    """Map ``uname -m`` output (x86_64, aarch64, riscv64, armv7l …) to a platform."""
    m = machine.strip().lower()
    if m not in _ARCH_ALIASES:
        raise BadInput(f"unknown machine name {machine!r}")
    arch, variant = _ARCH_ALIASES[m]
    return Platform(os_, arch, variant)


RISCV64 = Platform("linux", "riscv64")
AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")
