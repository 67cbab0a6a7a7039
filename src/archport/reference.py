"""Image references, parsed and normalized the way docker and containerd do.

Grammar: github.com/distribution/reference (``reference.go``, ``normalize.go``).
The kubelet asks containerd for the *normalized* name
(``rancher/mirrored-pause:3.6`` → ``docker.io/rancher/mirrored-pause:3.6``);
an image imported under any other spelling is invisible to it — k3s issue 7015.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .errors import BadReference

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_PATH_RE = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_TAG_RE = re.compile(rf"^{_TAG}$")
_DIGEST_RE = re.compile(rf"^{_DIGEST}$")
_ANCHORED_HEX64 = re.compile(r"^[a-f0-9]{64}$")


@dataclass(frozen=True, slots=True)
class Reference:
    """A fully qualified reference: ``domain/path[:tag][@digest]``."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """``domain/path`` — the name containerd stores images under."""
        return f"{self.domain}/{self.path}"

    @property
    def identifier(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def __str__(self) -> str:
        s = self.repository
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s

    def normalized(self) -> str:
        """The name the kubelet asks for: a tag is always present (``latest``)."""
        if self.tag is None and self.digest is None:
            return f"{self.repository}:{DEFAULT_TAG}"
        return str(self)

    def familiar(self) -> str:
        """The short form docker prints (``rancher/pause:3.6``, ``busybox``)."""
        path = self.path
        if self.domain == DEFAULT_DOMAIN:
            if path.startswith(OFFICIAL_REPO_PREFIX) and path.count("/") == 1:
                path = path[len(OFFICIAL_REPO_PREFIX):]
            name = path
        else:
            name = self.repository
        if self.tag:
            name += f":{self.tag}"
        if self.digest:
            name += f"@{self.digest}"
        return name

    def with_tag(self, tag: str | None) -> "Reference":
        if tag is not None and not _TAG_RE.match(tag):
            raise BadReference(f"invalid tag {tag!r}")
        return Reference(self.domain, self.path, tag, None)

    def with_digest(self, digest: str) -> "Reference":
        return Reference(self.domain, self.path, None, digest)

    def with_domain(self, domain: str, prefix: str = "") -> "Reference":
        path = f"{prefix.strip('/')}/{self.path}" if prefix.strip("/") else self.path
        return Reference(domain, path, self.tag, self.digest)


def _split_domain(name: str) -> tuple[str, str]:
    # normalize.go splitDockerDomain: the first component is a domain only if it
    # looks like one ('.' or ':' in it, 'localhost', or upper case letters).
    i = name.find("/")
    if i == -1 or (
        not any(c in name[:i] for c in ".:")
        and name[:i] != "localhost"
        and name[:i].lower() == name[:i]
    ):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = name[:i], name[i + 1:]
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse(text: str) -> Reference:
    """Parse a reference as ``docker pull`` would; raise :class:`BadReference`."""
    if not isinstance(text, str) or not text:
        raise BadReference("empty image reference")
    original = text
    if text != text.strip() or any(c.isspace() for c in text):
        raise BadReference(f"invalid reference {original!r}: contains whitespace")
    if text.startswith("docker://"):
        text = text[len("docker://"):]
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise BadReference(f"invalid reference {original!r}: bad digest {digest!r}")
        algo, hexpart = digest.split(":", 1)
        if algo == "sha256" and not _ANCHORED_HEX64.match(hexpart):
            raise BadReference(f"invalid reference {original!r}: sha256 digest must be 64 lowercase hex characters")
    tag = None
    # A ':' after the last '/' separates the tag; before it, it is a port.
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        text, tag = text[:colon], text[colon + 1:]
        if not _TAG_RE.match(tag):
            raise BadReference(f"invalid reference {original!r}: bad tag {tag!r}")
    if not text:
        raise BadReference(f"invalid reference {original!r}: no repository name")
    domain, path = _split_domain(text)
    try:
        valid_host(domain)
    except BadReference as e:
        raise BadReference(f"invalid reference {original!r}: {e}") from None
    if path.lower() != path:
        raise BadReference(f"invalid reference {original!r}: repository name must be lowercase")
    if not _PATH_RE.match(path):
        raise BadReference(f"invalid reference {original!r}: bad repository name {path!r}")
    if len(f"{domain}/{path}") > NAME_TOTAL_LENGTH_MAX:
        raise BadReference(f"invalid reference {original!r}: repository name longer than {NAME_TOTAL_LENGTH_MAX}")
    return Reference(domain, path, tag, digest)


def valid_host(domain: str) -> str:
    """Check ``host[:port]`` as a registry is named: the grammar, and a port
    that TCP can have (1-65535; the grammar alone allows any digits)."""
    if not _DOMAIN_RE.fullmatch(domain):
        raise BadReference(f"bad registry host {domain!r}")
    port = domain.rsplit("]", 1)[-1].rpartition(":")[2] if ":" in domain.rsplit("]", 1)[-1] else ""
    if port and not 1 <= int(port) <= 65535:
        raise BadReference(f"bad registry host {domain!r}: port {port} is not between 1 and 65535")
    return domain


def normalize(text: str) -> str:
    """``rancher/mirrored-pause:3.6`` → ``docker.io/rancher/mirrored-pause:3.6``."""
    return parse(text).normalized()


def is_loopback_host(domain: str) -> bool:
    """True for ``localhost``, an IPv4 address in 127.0.0.0/8 and ``[::1]``,
    with any port.  A *name* that merely starts with ``127.``
    (``127.evil.example``) resolves wherever its DNS says: not loopback."""
    host = domain
    if host.startswith("["):
        host = host[1:host.index("]")] if "]" in host else host
    elif ":" in host:
        host = host.rsplit(":", 1)[0]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
