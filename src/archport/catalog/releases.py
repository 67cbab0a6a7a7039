"""The catalog's release-wide facts, read from ``releases.toml`` and ``fixups.toml``.

A :class:`~.model.Component` describes one image's program; the values here
span components: which images a k3s release pulls, which versions users ask
for that k3s never released, and the dependency breakages a rebuild of any
component may hit.  :class:`~.model.Catalog` holds them beside the components.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .. import reference
from ..errors import BadInput
from . import versions
from .provenance import Provenance, jsonable
from .versions import Range


@dataclass(frozen=True, slots=True)
class K3sRelease:
    version: str                    # v1.24.2+k3s1
    kubernetes: str
    images: tuple[str, ...]         # familiar references, as the airgap image list names them
    components: tuple[tuple[str, str], ...]  # upstream versions the release notes list
    source: Provenance
    components_source: Provenance | None = None

    def references(self) -> tuple[str, ...]:
        """Fully qualified names, what containerd stores and the kubelet asks for."""
        return tuple(reference.normalize(i) for i in self.images)

    def to_dict(self) -> dict:
        return jsonable(asdict(self))


@dataclass(frozen=True, slots=True)
class Missing:
    """A version users ask for that k3s never released."""

    version: str
    reason: str
    source: Provenance


@dataclass(frozen=True, slots=True)
class Fixup:
    id: str
    module: str                     # module path, or "*" for a procedure that applies to any
    bad: Range
    good: str
    go: Range                       # Go toolchains that trigger it ("" = any)
    goarch: tuple[str, ...]         # target architectures that trigger it (() = any)
    symptom: str
    action: str                     # "require" (bump to good) | "vendor" | "ldflags"
    alternative: str
    components: tuple[str, ...]
    source: Provenance

    def applies(self, module: str, version: str, go: str | None = None, goarch: str | None = None) -> bool:
        """True when ``module@version`` is known to break with this toolchain/target.
        An unknown ``go`` or ``goarch`` counts as a match (be proactive).
        Procedures (``module = "*"``, e.g. re-vendoring) never match a module:
        the strategy runs them after any bump in a vendored module."""
        if self.module != module:
            return False
        try:
            if version not in self.bad:
                return False
        except BadInput:
            return False
        if go is not None and self.go.constraints and versions.parse_go(go) not in self.go:
            return False
        return goarch is None or not self.goarch or goarch in self.goarch

    @property
    def is_procedure(self) -> bool:
        return self.module == "*"

    def to_dict(self) -> dict:
        return jsonable(asdict(self))
