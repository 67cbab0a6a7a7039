"""Findings grouped by root cause, most important first.

One failing pod gives one :class:`Finding` (its best-explained cause).  Pods
sharing a cause and a subject (the same image, or the same unreachable
registry) form one :class:`Group`: "7 pods cannot start: the pause image
rancher/mirrored-pause:3.6 has no linux/riscv64 variant".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .rules import BY_ID

# Causes keyed by registry host rather than by image: one fix serves all images.
PER_HOST = {"network", "tls-scheme", "tls-cert", "rate-limit", "clock", "unauthorized"}
# The object kind of the events doctor's text reader makes for failure lines no
# pod claims (a crictl pull, a journal or containerd.log line without a pod):
# object_name is the image the line names, or "".  Such a failure is reported
# by its image; it never makes a pod up.
UNOWNED = "Unowned"
# A failure line no rule explains: reported with the lines, never dropped.
UNCLASSIFIED = "unclassified"


@dataclass(frozen=True, slots=True)
class Finding:
    pod: str                       # namespace/name; "" for a failure line no pod claims
    status: str
    cause: str                     # rule id, "sandbox", "unknown" or node-*
    image: str = ""
    host: str = ""
    sandbox: bool = False
    evidence: tuple[str, ...] = ()
    mirror: str = ""               # the mirror endpoint whose error was the real one


@dataclass
class Group:
    cause: str
    title: str
    severity: str = "error"        # error | warning | info
    pods: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    fix: list[str] = field(default_factory=list)
    consequences: list[str] = field(default_factory=list)
    platforms: dict[str, dict] = field(default_factory=dict)   # image -> cross-check result
    sandbox: bool = False
    host: str = ""
    mirror: str = ""
    weight: int = 0
    known: list[str] = field(default_factory=list)   # what archport's catalog says about these pods' images

    def to_dict(self) -> dict:
        return {"cause": self.cause, "title": self.title, "severity": self.severity, "pods": self.pods,
                "images": self.images, "evidence": self.evidence, "fix": self.fix,
                "consequences": self.consequences, "platforms": self.platforms, "sandbox": self.sandbox,
                "host": self.host, "mirror": self.mirror, "known": self.known}


@dataclass
class Report:
    platform: str
    source: str
    groups: list[Group] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    pods_total: int = 0
    pods_failing: int = 0
    node: list[str] = field(default_factory=list)       # the board: CPU profile, extensions, MMU, kernel
    hardware: dict = field(default_factory=dict)         # the same as typed fields (Facts.hardware())

    @property
    def healthy(self) -> bool:
        return not any(g.severity in ("error", "warning") for g in self.groups)

    def sort(self) -> None:
        self.groups.sort(key=lambda g: ({"error": 0, "warning": 1, "info": 2}[g.severity],
                                        -g.weight, -len(g.pods), g.title))

    def to_dict(self) -> dict:
        return {"healthy": self.healthy, "platform": self.platform, "source": self.source,
                "pods": {"total": self.pods_total, "failing": self.pods_failing},
                "groups": [g.to_dict() for g in self.groups], "notes": self.notes, "missing": self.missing,
                "node": self.hardware}


def _subject(f: Finding) -> str:
    if f.sandbox:
        return f"the pause image {f.image}" if f.image else "the pod sandbox"
    return f"image {f.image}" if f.image else "the container"


def title(f: Finding, n: int, platform: str, images: list[str]) -> str:
    """``n`` is the number of pods; 0 for failure lines that name no pod."""
    pods = f"{n} pod{'s' if n != 1 else ''} cannot start: " if n else ""
    rule = BY_ID.get(f.cause)
    if f.cause in PER_HOST and rule is not None:
        what = f"registry {f.host}" if f.host else "the registry"
        if f.mirror:
            what = f"mirror {f.mirror}"
        lead = f"the pause image {f.image} ({what})" if f.sandbox else what
        return f"{pods}{lead} {rule.summary.format(platform=platform)}"
    if rule is not None:
        return f"{pods}{_subject(f)} {rule.summary.format(platform=platform)}"
    if f.cause == "unqualified":
        return f"{pods}{_subject(f)} is imported under an unqualified name the kubelet does not look up"
    if f.cause == "sandbox":
        return f"{pods}the pod sandbox cannot be created"
    if f.cause == UNCLASSIFIED:
        about = f" about {_subject(f)}" if f.image else ""
        return f"{pods}unclassified: a failure{about} that no rule explains (its lines are quoted below)"
    return f"{pods}{f.status}" if pods else f.status


def group(findings: list[Finding]) -> dict[tuple, list[Finding]]:
    out: dict[tuple, list[Finding]] = {}
    for f in findings:
        if f.cause in PER_HOST:
            key = (f.cause, f.sandbox, f.mirror or f.host, f.image if f.sandbox else "")
        elif f.cause == "unknown":
            key = (f.cause, f.sandbox, f.status, f.image)
        else:
            key = (f.cause, f.sandbox, f.image, "")
        out.setdefault(key, []).append(f)
    return out
