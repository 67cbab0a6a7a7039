"""Ask a registry which platforms a tag offers (thin: one client call or two).

One failure per host, not one per image: an audit asks the same mirror for
thirty images at once, and a mirror that is down (a closed port, a frozen
server, a name that does not resolve) would otherwise be waited for thirty
times.  The first question to a host goes alone; the others wait for its
outcome.  If it failed to reach the host at all (a transport error), they
fail at once with the same words; any answer (a tag, a 404, a 401) means the
host is there, and they go ahead in parallel.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .. import platform as plat
from ..errors import TransportError
from ..images import offered_platforms
from ..k3s.registries import Endpoint
from .report import Lookup


@dataclass(slots=True)
class _Host:
    asked: threading.Event = field(default_factory=threading.Event)   # the first question was answered
    failed: TransportError | None = None


class _FirstContact:
    """Per host: the first question's transport failure, shared with the rest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, _Host] = {}

    def claim(self, host: str) -> tuple[_Host, bool]:
        """The host's record, and whether this caller asks first."""
        with self._lock:
            known = self._hosts.get(host)
            if known is not None:
                return known, False
            self._hosts[host] = _Host()
            return self._hosts[host], True


def registry_lookup(client) -> Lookup:
    """A lookup over an ``archport.registry.Client``.  The endpoint's reference
    is asked as is; for the default endpoint the client still applies the
    user's ``--mirror`` settings (this machine's way out, not the node's)."""
    hosts = _FirstContact()

    def lookup(ep: Endpoint) -> list[plat.Platform]:
        record, first = hosts.claim(ep.host)
        if not first:
            record.asked.wait()
            if record.failed is not None:
                raise record.failed
            return offered_platforms(ep.reference, client)
        try:
            return offered_platforms(ep.reference, client)
        except TransportError as e:
            record.failed = e
            raise
        finally:
            record.asked.set()
    return lookup
