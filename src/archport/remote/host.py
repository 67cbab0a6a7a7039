"""``--host`` as every command spells it: ``[user@]host[:port]``,
``ssh://[user@]host[:port]``, IPv6 literals in brackets (``[fe80::1]:22``,
RFC 3986 §3.2.2).  A bare IPv6 literal without brackets (``::1``) is a host
without a port: its colons cannot carry one.  Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import BadInput

# A host name, an ssh_config alias or an IPv4 literal: no spaces, no shell or
# ssh option syntax.  IPv6 literals are checked separately.
_NAME = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?$")
_IPV6 = re.compile(r"^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$")


@dataclass(frozen=True, slots=True)
class Host:
    host: str                  # name, alias, IPv4, or IPv6 without brackets
    user: str | None = None
    port: int | None = None

    @property
    def destination(self) -> str:
        """What ssh takes as its destination (the port goes to ``-p``)."""
        return f"{self.user}@{self.host}" if self.user else self.host

    def __str__(self) -> str:
        h = f"[{self.host}]" if ":" in self.host else self.host
        s = f"{self.user}@{h}" if self.user else h
        return f"{s}:{self.port}" if self.port else s


def _port(text: str, original: str) -> int:
    if not text.isdigit():
        raise BadInput(f"--host {original!r}: port {text!r} is not a number")
    n = int(text)
    if not 1 <= n <= 65535:
        raise BadInput(f"--host {original!r}: port {n} is not between 1 and 65535")
    return n


def parse_host(text: str) -> Host:
    """Parse one ``--host`` value; :class:`BadInput` (one line) when it is not one."""
    original = text
    if not isinstance(text, str) or not text.strip():
        raise BadInput("--host '': expected [USER@]HOST[:PORT]")
    if text != text.strip() or any(c.isspace() for c in text):
        raise BadInput(f"--host {original!r}: contains whitespace")
    if "://" in text:
        scheme, _, text = text.partition("://")
        if scheme.lower() != "ssh":
            raise BadInput(f"--host {original!r}: only ssh:// is understood")
        text = text.rstrip("/")
        if "/" in text:
            raise BadInput(f"--host {original!r}: a path has no meaning for ssh")
    user = None
    if "@" in text:
        user, _, text = text.rpartition("@")
        if not _USER.fullmatch(user):
            raise BadInput(f"--host {original!r}: bad user name {user!r}")
    port = None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not host or not _IPV6.fullmatch(host) or ":" not in host:
            raise BadInput(f"--host {original!r}: bad IPv6 literal")
        if rest:
            if not rest.startswith(":"):
                raise BadInput(f"--host {original!r}: unexpected {rest!r} after the address")
            port = _port(rest[1:], original)
    elif text.count(":") > 1:
        if not _IPV6.fullmatch(text):
            raise BadInput(f"--host {original!r}: bad IPv6 literal")
        host = text
    else:
        host, sep, p = text.partition(":")
        if sep:
            port = _port(p, original)
        if not host:
            raise BadInput(f"--host {original!r}: no host name")
        if not _NAME.fullmatch(host):
            raise BadInput(f"--host {original!r}: bad host name {host!r}")
    return Host(host, user, port)
