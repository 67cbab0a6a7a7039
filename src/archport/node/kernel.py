"""A board's kernel configuration against what k3s needs (``kernel.toml``).

The text is a kernel ``.config``: ``/proc/config.gz`` decompressed, or
``/boot/config-$(uname -r)``.  An option is ``CONFIG_X=y`` (built in),
``CONFIG_X=m`` (a module), or absent / ``# CONFIG_X is not set``; like
k3s's check-config.sh, ``y`` and ``m`` both count as present.

The verdict has three parts: the required options that are missing (check-
config.sh's "Generally Necessary"; those that *block* k3s are what deploy
refuses a board for), the optional ones (warnings), and the
iptables backends the kernel can carry (``legacy``, ``nft``): an image whose
iptables is legacy on an nft-only kernel installs no rules.

Pure: text in, a :class:`KernelCheck` out.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources

from ..errors import BadInput

# The command whose output :func:`check_config` reads: the running kernel's
# own config when it has CONFIG_IKCONFIG_PROC, else the distribution's copy
# (the places k3s's check-config.sh tries first).
CONFIG_COMMAND = 'zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$(uname -r)"'
RELEASE_COMMAND = "uname -r"

_SET = re.compile(r"^CONFIG_([A-Za-z0-9_]+)=(.*)$")
_UNSET = re.compile(r"^# CONFIG_([A-Za-z0-9_]+) is not set$")
_VERSION = re.compile(r"^# Linux/\S+ (\d+\.\d+(?:\.\d+)?)\S* Kernel Configuration")
_RELEASE = re.compile(r"^(\d+)\.(\d+)")

REQUIRED = "required"
OPTIONAL = "optional"


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    level: str                        # REQUIRED | OPTIONAL
    options: tuple[str, ...]
    explains: str
    before: tuple[int, int] | None = None   # only for kernels older than this
    blocks: bool = True               # for a required group: k3s cannot run without it


@dataclass(frozen=True, slots=True)
class Backend:
    name: str                         # "legacy" | "nft"
    options: tuple[str, ...]
    explains: str
    source: str


@dataclass(frozen=True, slots=True)
class Requirements:
    groups: tuple[Group, ...]
    backends: tuple[Backend, ...]
    source: str


@dataclass(frozen=True, slots=True)
class Gap:
    """Options of one group the kernel lacks."""

    group: str
    level: str
    options: tuple[str, ...]          # without the CONFIG_ prefix
    explains: str
    blocks: bool = False              # k3s cannot run without it

    def to_dict(self) -> dict:
        return {"group": self.group, "level": self.level, "options": [f"CONFIG_{o}" for o in self.options],
                "explains": self.explains, "blocks": self.blocks}


@dataclass(frozen=True, slots=True)
class KernelCheck:
    version: str                      # from the config's header, "" when it has none
    gaps: tuple[Gap, ...]
    backends: tuple[str, ...]         # iptables backends the kernel can carry
    backend_gaps: tuple[Gap, ...]     # why a backend is not available
    options: int                      # how many options the config sets

    @property
    def missing_required(self) -> tuple[Gap, ...]:
        return tuple(g for g in self.gaps if g.level == REQUIRED)

    @property
    def blocking(self) -> tuple[Gap, ...]:
        """What k3s cannot run without (deploy refuses these unless forced)."""
        return tuple(g for g in self.gaps if g.blocks)

    @property
    def ok(self) -> bool:
        """k3s can run: nothing blocking missing and some iptables backend."""
        return not self.blocking and bool(self.backends)

    def lacks(self, group: str) -> bool:
        return any(g.group == group for g in self.gaps)

    def to_dict(self) -> dict:
        return {"version": self.version or None, "ok": self.ok, "options": self.options,
                "missing": [g.to_dict() for g in self.gaps], "iptables_backends": list(self.backends),
                "backend_gaps": [g.to_dict() for g in self.backend_gaps]}


def parse_requirements(text: str) -> Requirements:
    d = tomllib.loads(text)
    groups = []
    for g in d["group"]:
        before = tuple(int(x) for x in g["before"].split(".")) if "before" in g else None
        if g["level"] not in (REQUIRED, OPTIONAL):
            raise ValueError(f"kernel.toml group {g['name']}: level {g['level']!r}")
        groups.append(Group(g["name"], g["level"], tuple(g["options"]), g["explains"], before,  # type: ignore[arg-type]
                            g["level"] == REQUIRED and g.get("blocks", True)))
    backends = tuple(Backend(b["name"], tuple(b["options"]), b["explains"], b["source"]) for b in d["backend"])
    return Requirements(tuple(groups), backends, d["source"])


@functools.cache
def requirements() -> Requirements:
    return parse_requirements(resources.files(__package__).joinpath("kernel.toml").read_text("utf-8"))


def parse_config(text: str) -> tuple[dict[str, str], str]:
    """The options a ``.config`` sets (name without ``CONFIG_`` → value) and
    its version; ``BadInput`` when the text is not a kernel config."""
    opts: dict[str, str] = {}
    version = ""
    seen = False
    for line in text.splitlines():
        line = line.strip()
        m = _SET.match(line)
        if m:
            opts[m.group(1)] = m.group(2).strip('"')
            seen = True
            continue
        if _UNSET.match(line):
            seen = True
            continue
        v = _VERSION.match(line)
        if v and not version:
            version = v.group(1)
    if not seen:
        raise BadInput("not a kernel configuration: no CONFIG_ lines")
    return opts, version


def _older(version: str, bound: tuple[int, int]) -> bool:
    m = _RELEASE.match(version)
    return bool(m) and (int(m.group(1)), int(m.group(2))) < bound


def check_config(text: str, release: str = "", reqs: Requirements | None = None) -> KernelCheck:
    """Check a kernel configuration; ``release`` (``uname -r``) decides the
    version-bound groups when the config's header does not."""
    reqs = reqs or requirements()
    opts, version = parse_config(text)
    version = version or release
    present = {k for k, v in opts.items() if v in ("y", "m")}
    gaps = []
    for g in reqs.groups:
        if g.before is not None and not (version and _older(version, g.before)):
            continue
        lacking = tuple(o for o in g.options if o not in present)
        if lacking:
            gaps.append(Gap(g.name, g.level, lacking, g.explains, g.blocks))
    backends, backend_gaps = [], []
    for b in reqs.backends:
        lacking = tuple(o for o in b.options if o not in present)
        if lacking:
            backend_gaps.append(Gap(f"iptables-{b.name}", OPTIONAL, lacking, b.explains))
        else:
            backends.append(b.name)
    return KernelCheck(version, tuple(gaps), tuple(backends), tuple(backend_gaps), len(present))
