"""Which scheme, CA and mirrors a registry host gets (pure, except the SSL context).

Policy: HTTPS with verification always.  Plain HTTP
only for loopback hosts and hosts the user named with ``--plain-http``.  A
named host is spoken to in plain HTTP directly (the user said so, like
containerd's ``plain-http``); a loopback host is tried in HTTPS first and
falls back to HTTP only when the server answers TLS with plain HTTP — never on
a certificate error (:mod:`archport.registry.client` does the probing).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

import httpx

from ..errors import TransportError
from ..reference import DEFAULT_DOMAIN, is_loopback_host

# docker.io is a name, not an API endpoint: its distribution API is served
# from a different host (docker/distribution registry/registry.go,
# DefaultRegistryHost).  Only this one domain is special.
_API_HOSTS = {DEFAULT_DOMAIN: "registry-1." + DEFAULT_DOMAIN}


def _split_port(host: str) -> tuple[str, str | None]:
    if host.startswith("["):
        end = host.find("]")
        rest = host[end + 1:]
        return host[: end + 1], (rest[1:] if rest.startswith(":") else None)
    if host.count(":") == 1:
        name, port = host.split(":")
        return name, port
    return host, None


@dataclass(frozen=True, slots=True)
class HostOptions:
    plain_http: frozenset[str] = frozenset()   # "host" or "host:port" named by --plain-http; loopback is always allowed plain
    ca_file: str | None = None                  # extra CA (added to system roots), --ca-file
    mirrors: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))  # "docker.io" -> ("127.0.0.1:5000",) pull mirrors, tried in order before upstream
    # --mirror-only: a registry that has mirrors is never contacted itself
    # for pulls (an airgapped network, or tests that must stay on loopback).
    mirror_only: bool = False

    def named_plain(self, host: str) -> bool:
        """The user named ``host`` (or its name without port) with --plain-http."""
        name, _ = _split_port(host)
        return host in self.plain_http or name in self.plain_http

    def allows_plain_http(self, host: str) -> bool:
        return is_loopback_host(host) or self.named_plain(host)

    def mirrors_for(self, domain: str) -> tuple[str, ...]:
        return tuple(self.mirrors.get(domain, ()))


def api_host(domain: str) -> str:
    """The host that serves ``/v2/`` for a reference's domain."""
    return _API_HOSTS.get(domain, domain)


def ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """System roots, plus ``ca_file`` when given.  Verification is never off."""
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    return ctx


class PlainHTTPGuard(httpx.BaseTransport):
    """The outermost transport: refuses any plain-HTTP request to a host the
    policy does not allow, whoever built it.  This is what stops a redirect
    from HTTPS to ``http://`` (httpx follows ``Location`` on its own, below
    the client) from downgrading a registry to an unauthenticated channel."""

    def __init__(self, inner: httpx.BaseTransport, allows_plain_http: Callable[[str], bool]) -> None:
        self._inner = inner
        self._allows = allows_plain_http

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme == "http":
            host = f"[{url.host}]" if ":" in url.host else url.host
            netloc = f"{host}:{url.port}" if url.port else host
            if not self._allows(netloc):
                raise TransportError(
                    f"{request.method} http://{netloc}{url.path}: refused: plain HTTP to {netloc} is not "
                    f"allowed (a redirect from HTTPS?); only loopback and --plain-http hosts are reached "
                    f"without TLS")
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
