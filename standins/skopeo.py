"""skopeo, the independent validator of what archport writes: the suite's one way to run it."""

from __future__ import annotations

import json
import subprocess


def skopeo(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``skopeo ARGS``; bytes out.  ``check`` raises on a non-zero exit."""
    return subprocess.run(["skopeo", *args], capture_output=True, check=check, timeout=timeout)


def raw(location: str, *flags: str) -> bytes:
    """``skopeo inspect --raw FLAGS LOCATION``: the manifest bytes as stored."""
    return skopeo("inspect", "--raw", *flags, location).stdout


def raw_json(location: str, *flags: str) -> dict | None:
    """The manifest at ``location`` parsed, or None when skopeo cannot read it."""
    cp = skopeo("inspect", "--raw", *flags, location, check=False)
    return json.loads(cp.stdout) if cp.returncode == 0 else None


def config(location: str, *flags: str, arch: str | None = None) -> dict:
    """``skopeo inspect --config`` of ``location`` (for ``arch`` of an index), parsed."""
    over = ["--override-arch", arch] if arch else []
    return json.loads(skopeo("inspect", "--config", *flags, *over, location).stdout)
