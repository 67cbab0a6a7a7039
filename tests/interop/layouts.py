"""What the interop tests share: image names, and reading one platform out with skopeo."""

from __future__ import annotations

from standins.skopeo import skopeo

PAUSE = "rancher/mirrored-pause:3.6"
COREDNS = "rancher/mirrored-coredns-coredns:1.10.1"


def skopeo_pick(location: str, out) -> bytes:
    """The riscv64 manifest skopeo copies out of ``location``, as stored
    (skopeo's ``dir:`` transport keeps manifests verbatim)."""
    skopeo("copy", "--override-arch", "riscv64", "--preserve-digests", location, f"dir:{out}")
    return (out / "manifest.json").read_bytes()
