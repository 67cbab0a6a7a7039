"""What an image's entry script needs at start, against a transplanted userland (pure).

A transplant carries the entry script byte-identical, so what it runs must
be in the new userland: the commands the catalog lists for it (resolved
through the image's ``PATH`` directories, after the base's merged-/usr
aliases), and — when the script picks the iptables backend itself, as
klipper-lb's entry does from v0.4.1 (``lsmod | grep nf_tables``, then
``ln -sf xtables-nft-multi`` or ``xtables-legacy-multi`` over
``/usr/sbin/iptables``) — both multi-call binaries, since either may be
chosen on the node.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from .compose import aliased

# The directories of the default PATH (the images' Env), searched in order.
PATH_DIRS = ("usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin")
# iptables >= 1.8's multi-call binaries, one per backend.
MULTI = {"legacy": "xtables-legacy-multi", "nft": "xtables-nft-multi"}


def lacking(paths: Iterable[str], aliases: Mapping[str, str], commands: Iterable[str] = (),
            backends: bool = False) -> list[str]:
    """The entry's needs that ``paths`` (the composed image's paths, without
    a leading slash) do not provide, each as a short phrase."""
    present = {aliased(p.lstrip("/"), aliases) for p in paths}

    def found(name: str) -> bool:
        if "/" in name:
            return aliased(name.lstrip("/"), aliases) in present
        return any(aliased(f"{d}/{name}", aliases) in present for d in PATH_DIRS)

    out = [f"{c} (run by the entry script)" for c in commands if not found(c)]
    if backends:
        out += [f"{multi} (the entry script links iptables to it when the node runs the {backend} backend)"
                for backend, multi in MULTI.items() if not found(multi)]
    return out
