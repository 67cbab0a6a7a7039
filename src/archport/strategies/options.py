"""Each strategy's options, one small record per concern, built once by the
CLI from its flags (the library reads no flags and no environment).

The Go options (:class:`archport.toolchain.gocompile.GoOptions`) live with
the toolchain that reads them; the others are here.  ``None`` means "not
given": each strategy then says where it looks instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DebianOptions:
    """The Debian archive the ``deb`` and ``transplant`` strategies (and the
    proof's kernel) read from."""

    archive: str | None = None           # --debian-archive (else the machine's apt sources)
    keyring: str | None = None           # --debian-keyring (else the source's Signed-By, else Debian's)
    suite: str | None = None             # --debian-suite (else the catalog's)


@dataclass(frozen=True, slots=True)
class AlpineOptions:
    """The Alpine mirror a transplant onto Alpine reads from."""

    mirror: str | None = None            # --alpine-mirror (else the machine's /etc/apk/repositories)
    keys: str | None = None              # --alpine-keys (else /etc/apk/keys)


@dataclass(frozen=True, slots=True)
class TransplantOptions:
    """Choices the ``transplant`` strategy would otherwise read from the image or the catalog."""

    onto: str | None = None              # --transplant-onto DIST:RELEASE (else the catalog's distro onto)
    iptables_backend: str | None = None  # --iptables-backend (else the upstream image's)


@dataclass(frozen=True, slots=True)
class ReleaseOptions:
    """The ``release`` strategy's one choice."""

    allow_unverified: bool = False       # --allow-unverified: an asset without a checksum to verify


__all__ = ["AlpineOptions", "DebianOptions", "ReleaseOptions", "TransplantOptions"]
