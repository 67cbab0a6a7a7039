"""Values of a port run: options, the destination, one image's result (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import location
from ..errors import BadInput
from ..location import LayoutLocation
from ..platform import Platform
from ..reference import Reference, parse as parse_reference

#: Statuses that count as success; anything else makes the run partial (exit 1).
SUCCESS = ("ported", "present", "done", "explained")


@dataclass(frozen=True, slots=True)
class Options:
    target: Platform
    strategies: tuple[str, ...] | None = None     # None: auto
    explain: bool = False
    rebuild: bool = False                         # build even when the tag has the platform, and replace it
    overwrite: bool = False                       # replace a destination tag that holds something else
    manifests: str | None = None                  # k3s manifests dir/file for check
    smoke: bool = True
    smoke_args: tuple[str, ...] | None = None
    smoke_timeout: float = 60
    workers: int = 4
    profile: str = "rva20u64"                     # the RISC-V profile riscv64 builds and mirrors must fit
    attest: bool = True                           # attach SBOM and provenance as referrers (--no-attest)


@dataclass(frozen=True, slots=True)
class Destination:
    """A registry (with an optional repository prefix) or ``oci:DIR``."""

    text: str
    domain: str = ""
    prefix: str = ""
    layout: str = ""

    def ref_for(self, up: Reference) -> Reference:
        """Same repository path and tag, under the destination."""
        path = f"{self.prefix}/{up.path}" if self.prefix else up.path
        return Reference(self.domain, path, up.tag or "latest")

    def name_for(self, up: Reference) -> str:
        """For a layout: the ref name (repository path and tag)."""
        return f"{up.path}:{up.tag or 'latest'}"

    def describe(self, up: Reference) -> str:
        return f"oci:{self.layout}:{self.name_for(up)}" if self.layout else str(self.ref_for(up))


def parse_destination(text: str) -> Destination:
    if not text:
        raise BadInput("--to is required: a registry[/prefix] or oci:DIR")
    if text.startswith("oci:"):
        loc = location.parse(text)
        assert isinstance(loc, LayoutLocation)
        if loc.tag:
            raise BadInput(f"--to {text}: give a directory; images keep their own names and tags in it")
        return Destination(text, layout=loc.path)
    rest = text.removeprefix("docker://").rstrip("/")
    host, _, prefix = rest.partition("/")
    if not host or not ("." in host or ":" in host or host == "localhost"):
        raise BadInput(f"--to {text}: expected REGISTRY-HOST[:PORT][/PREFIX] (e.g. 127.0.0.1:5000/k3s-riscv64) "
                       "or oci:DIR")
    if prefix:
        try:
            Reference(host, prefix)
            parse_reference(f"{host}/{prefix}")
        except BadInput as e:
            raise BadInput(f"--to {text}: {e}") from None
    return Destination(text, domain=host, prefix=prefix)


@dataclass(frozen=True, slots=True)
class ImageResult:
    """What porting one image came to: the value :func:`archport.port.run.port_image`
    returns (a failure is the result as far as it got, marked failed)."""

    image: str
    destination: str = ""
    status: str = "failed"           # ported | present | done | explained | blocked | failed | unsupported
    strategy: str = ""
    reason: str = ""
    decisions: tuple[tuple[str, bool | None, str], ...] = ()   # applies: None = not known (not checked)
    fixups: tuple[str, ...] = ()
    check: str = ""                  # "ok" | "failed: …" | ""
    smoke: str = ""                  # "ok" | "failed: …" | ""
    smoke_output: str = ""
    digest: str = ""                 # the destination tag's digest (index)
    platform_digest: str = ""        # the target platform's manifest
    seconds: float = 0.0
    next_step: str = ""
    notes: tuple[str, ...] = ()
    isa_profile: str = ""            # riscv64: the profile the image was built and checked for

    @property
    def ok(self) -> bool:
        return self.status in SUCCESS

    def to_dict(self) -> dict:
        return {
            "image": self.image, "destination": self.destination, "status": self.status, "ok": self.ok,
            "strategy": self.strategy or None, "reason": self.reason,
            "decisions": [{"strategy": n, "applies": a, "reason": r} for n, a, r in self.decisions],
            "fixups": list(self.fixups), "check": self.check or None, "smoke": self.smoke or None,
            "smokeOutput": self.smoke_output, "digest": self.digest or None,
            "platformDigest": self.platform_digest or None, "seconds": round(self.seconds, 3),
            "nextStep": self.next_step or None, "notes": list(self.notes),
            "isaProfile": self.isa_profile or None,
        }
