"""Ask a registry which platforms a tag offers (thin: one client call or two)."""

from __future__ import annotations

from .. import platform as plat
from ..images import offered_platforms
from ..k3s.registries import Endpoint
from .report import Lookup


def registry_lookup(client) -> Lookup:
    """A lookup over an ``archport.registry.Client``.  The endpoint's reference
    is asked as is; for the default endpoint the client still applies the
    user's ``--mirror`` settings (this machine's way out, not the node's)."""

    def lookup(ep: Endpoint) -> list[plat.Platform]:
        return offered_platforms(ep.reference, client)
    return lookup
