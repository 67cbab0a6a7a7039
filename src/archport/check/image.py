"""Check one platform of an image: select it, merge its layers, check each contract."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from ..catalog import riscv as profiles
from ..errors import BadInput
from ..oci import Index, Manifest
from ..oci import mediatypes as mt
from ..oci.config import ImageConfig, read_config
from ..platform import Platform, normalize
from ..store import Source
from . import findings as F
from ..imagefs import Notice, RootFS, apply_layer
from .contract import Contract, Outcome, check_contract
from .findings import ERROR, WARNING, Finding
from .isa import Requirement, Target, highest, judge, requirements

MAX_PER_CODE = 20          # a hostile layer may hold a million device nodes


@dataclass(frozen=True, slots=True)
class Report:
    image: str
    platform: Platform
    manifest: str = ""                        # digest of the platform's manifest
    config: ImageConfig | None = None
    outcomes: tuple[Outcome, ...] = ()
    findings: tuple[Finding, ...] = ()        # about the image itself (platform, layers)
    layers: int = 0
    files: int = 0
    offered: tuple[Platform, ...] = field(default=())
    requirements: tuple[Requirement, ...] = ()   # every RISC-V ELF's ISA need
    target: Target | None = None                 # what they were checked against

    @property
    def needs(self) -> str | None:
        """The lowest profile that runs every binary (None: none, or beyond all)."""
        return highest(self.requirements)[0]

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.all_findings())

    def all_findings(self) -> list[Finding]:
        return [*self.findings, *(f for o in self.outcomes for f in o.findings)]

    def to_dict(self) -> dict:
        d = {
            "image": self.image,
            "platform": str(self.platform),
            "ok": self.ok,
            "manifest": self.manifest or None,
            "layers": self.layers,
            "files": self.files,
            "findings": [f.to_dict() for f in self.findings],
            "contracts": [o.to_dict() for o in self.outcomes],
        }
        if self.offered:
            d["offered"] = [str(p) for p in self.offered]
        if self.platform.architecture == "riscv64" and self.layers:
            need, beyond = highest(self.requirements)
            d["isa"] = {"needs": need, "beyond_profiles": beyond,
                        "target": self.target.to_dict() if self.target else None,
                        "binaries": len(self.requirements),
                        "requirements": [self._requirement(r) for r in self.requirements]}
        return d


    def _requirement(self, r: Requirement) -> dict:
        d = r.to_dict()
        if self.target is not None:
            d["missing"] = list(profiles.missing(r.extensions, self.target.extensions))
        return d


def select(source: Source, platform: Platform) -> tuple[Manifest | None, tuple[Platform, ...]]:
    """The platform's manifest, or None with the platforms on offer."""
    top = source.resolve()
    if isinstance(top, Manifest):
        return top, ()
    assert isinstance(top, Index)
    desc = top.find(platform)
    if desc is None:
        return None, tuple(top.platforms())
    m = source.manifest(desc)
    if not isinstance(m, Manifest):
        raise BadInput(f"{source.name}: the {platform} entry is an index, not an image manifest")
    return m, ()


def check_image(source: Source, platform: Platform, contracts: Sequence[Contract] = (Contract(),),
                isa: Target | None = None) -> Report:
    """Check ``contracts`` in the platform's image; for riscv64, also what
    every binary needs of the ISA, against ``isa`` when given."""
    platform = normalize(platform)
    manifest, offered = select(source, platform)
    if manifest is None:
        return Report(source.name, platform, offered=offered, findings=(Finding(
            ERROR, "platform-missing",
            f"{source.name} has no {platform} image; it offers {', '.join(map(str, offered)) or 'no platforms'}",
            runtime_error="no match for platform in manifest: not found", effect="ErrImagePull / ImagePullBackOff"),))
    config = read_config(source, manifest)
    found: list[Finding] = []
    label = normalize(config.platform)
    if (label.os, label.architecture) != (platform.os, platform.architecture):
        found.append(Finding(ERROR, "platform-mismatch",
                             f"the image config says {label or '(no platform)'}, not {platform}",
                             effect="wrong image for the node: exec format error or no match for platform"))
    if len(config.diff_ids) != len(manifest.layers):
        found.append(Finding(ERROR, "diff-ids", f"the manifest has {len(manifest.layers)} layers but the config lists "
                             f"{len(config.diff_ids)} diff_ids", effect=F.UNPACK_FAILURE))
    fs = RootFS()
    try:
        for i, desc in enumerate(manifest.layers):
            what = f"layer {i + 1} ({desc.digest})"
            if mt.is_index(desc.media_type) or mt.is_image(desc.media_type):
                raise BadInput(f"{what} has manifest media type {desc.media_type}")
            with source.open_blob(desc) as chunks:
                diff_id, hostile = apply_layer(fs, i, chunks, what)
            found.extend(_finding(n) for n in hostile)
            if i < len(config.diff_ids) and config.diff_ids[i] != diff_id:
                found.append(Finding(ERROR, "diff-id-mismatch", f"{what} unpacks to {diff_id}, but the config says "
                                     f"{config.diff_ids[i]}", effect=F.UNPACK_FAILURE))
        outcomes = tuple(check_contract(fs, config, c, platform) for c in contracts)
        files = sum(1 for _ in fs.walk())
        reqs: list[Requirement] = []
        if platform.architecture == "riscv64":
            reqs, unreadable = requirements(fs)
            found.extend(unreadable)
            found.extend(judge(reqs, isa))
    finally:
        fs.close()
    return Report(source.name, platform, str(manifest.digest), config, outcomes, _cap(found),
                  len(manifest.layers), files, requirements=tuple(reqs), target=isa)


def _finding(n: Notice) -> Finding:
    return Finding(n.severity, n.code, n.message, n.path, runtime_error=n.runtime_error,
                   effect=F.UNPACK_FAILURE if n.unpack_fails else "")


def _cap(found: list[Finding]) -> tuple[Finding, ...]:
    counts: Counter[str] = Counter()
    out: list[Finding] = []
    for f in found:
        counts[f.code] += 1
        if counts[f.code] <= MAX_PER_CODE:
            out.append(f)
    for code, n in counts.items():
        if n > MAX_PER_CODE:
            sev = ERROR if any(f.is_error for f in found if f.code == code) else WARNING
            out.append(Finding(sev, code, f"… and {n - MAX_PER_CODE} more {code} findings"))
    return tuple(out)
