"""Where a node pulls an image from, after ``registries.yaml`` (pure).

k3s renders ``/etc/rancher/k3s/registries.yaml`` into containerd's registry
configuration ("Private Registry Configuration" in the k3s docs).  For an
image ``<domain>/<path>:<tag>`` containerd then tries, in order:

1. the endpoints of ``mirrors.<domain>`` (or of ``mirrors."*"`` when the
   domain has no entry of its own, a wildcard k3s supports since the March
   2024 releases), each with ``<path>`` renamed by the mirror's ``rewrite``
   rules (regular expression → replacement, k3s's containerd fork, k3s ≥
   v1.21);
2. the *default endpoint*, the registry named in the image itself, without
   rewrites ("Default Endpoint Fallback": always tried last, unless an
   endpoint already is that registry, or ``disable-default-registry-endpoint``
   is set for a registry that has an entry).

The first endpoint that serves the tag supplies the image, and it is stored
under the original name either way.  ``--system-default-registry`` is not a
mirror: it renames the system images before any of this
(:mod:`archport.k3s.config`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping
from urllib.parse import urlsplit

from .. import reference
from ..errors import BadInput, BadReference
from ..reference import DEFAULT_DOMAIN, Reference
from ..registry.hosts import api_host
from .behaviour import load as _behaviour

WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class Mirror:
    endpoints: tuple[str, ...] = ()
    rewrites: tuple[tuple[str, str], ...] = ()   # (pattern, replacement) in file order


@dataclass(frozen=True, slots=True)
class Registries:
    mirrors: Mapping[str, Mirror] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def empty(self) -> bool:
        return not self.mirrors


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One place containerd asks, and the name it asks for there."""
    url: str                  # as written in registries.yaml, or "https://<domain>" for the default
    host: str                 # host[:port]
    plain_http: bool
    reference: Reference      # the image as this endpoint serves it (host, rewritten path)
    default: bool = False     # the image's own registry
    rewritten: bool = False
    mirror: str = ""          # the registries.yaml key that supplied it ("docker.io", "*")

    def to_dict(self) -> dict:
        return {"url": self.url, "reference": str(self.reference), "default": self.default,
                "rewritten": self.rewritten, "mirror": self.mirror or None}


@dataclass(frozen=True, slots=True)
class Resolution:
    image: Reference
    endpoints: tuple[Endpoint, ...]
    notes: tuple[str, ...] = ()


def check(doc: Any, origin: str = "registries.yaml") -> None:
    """Refuse a document k3s could not read, naming the key.  k3s decodes the
    file into typed structures (wharfie's ``Registry``: ``mirrors`` maps a
    name to ``endpoint`` (a list of strings) and ``rewrite`` (string to
    string); ``configs`` maps a host to ``auth`` and ``tls`` mappings), so a
    string where a list belongs stops k3s at start rather than meaning a
    one-item list."""
    if doc is None:
        return
    if not isinstance(doc, Mapping):
        raise BadInput(f"{origin}: expected a mapping with 'mirrors' and 'configs'")
    mirrors = doc.get("mirrors")
    if mirrors is not None and not isinstance(mirrors, Mapping):
        raise BadInput(f"{origin}: 'mirrors' must be a mapping of registry name to endpoints")
    for name, m in (mirrors or {}).items():
        if m is None:
            continue
        if not isinstance(m, Mapping):
            raise BadInput(f"{origin}: mirrors.{name} must be a mapping")
        eps = m.get("endpoint")
        if eps is not None and (not isinstance(eps, list) or not all(isinstance(e, str) for e in eps)):
            raise BadInput(f"{origin}: mirrors.{name}.endpoint must be a list of URLs")
        rw = m.get("rewrite")
        if rw is not None and (not isinstance(rw, Mapping)
                               or not all(isinstance(v, str) for v in rw.values())):
            raise BadInput(f"{origin}: mirrors.{name}.rewrite must map patterns to replacements")
    configs = doc.get("configs")
    if configs is not None and not isinstance(configs, Mapping):
        raise BadInput(f"{origin}: 'configs' must be a mapping of registry host to auth and tls")
    for host, c in (configs or {}).items():
        if c is None:
            continue
        if not isinstance(c, Mapping):
            raise BadInput(f"{origin}: configs.{host} must be a mapping")
        for part in ("auth", "tls"):
            v = c.get(part)
            if v is not None and not isinstance(v, Mapping):
                raise BadInput(f"{origin}: configs.{host}.{part} must be a mapping")


def parse(doc: Mapping[str, Any] | None) -> Registries:
    """The ``mirrors`` part of a registries.yaml document (``configs`` hold
    TLS and credentials, which do not change where an image comes from)."""
    if not doc:
        return Registries()
    check(doc)
    out: dict[str, Mirror] = {}
    for name, m in (doc.get("mirrors") or {}).items():
        m = m or {}
        endpoints = m.get("endpoint") or []
        rewrites = m.get("rewrite") or {}
        for pattern in rewrites:
            try:
                re.compile(str(pattern))
            except re.error as e:
                raise BadInput(f"registries.yaml: mirrors.{name}.rewrite {pattern!r}: {e}") from None
        out[str(name)] = Mirror(tuple(e.strip() for e in endpoints if e.strip()),
                                tuple((str(p), str(r)) for p, r in rewrites.items()))
    return Registries(MappingProxyType(out))


def resolve(image: str | Reference, registries: Registries, version: str | None = None,
            disable_default_endpoint: bool = False) -> Resolution:
    """The endpoints containerd tries for ``image``, in order.  ``version`` is
    the node's k3s version (``None``: assume a current one)."""
    ref = image if isinstance(image, Reference) else reference.parse(image)
    behaviour = _behaviour()
    notes: list[str] = []
    key, mirror = ref.domain, registries.mirrors.get(ref.domain)
    if mirror is None and WILDCARD in registries.mirrors:
        if behaviour.supports("registry-wildcard", version) is False:
            notes.append(f'k3s {version} has no "*" mirror support: the wildcard entry is ignored')
        else:
            key, mirror = WILDCARD, registries.mirrors[WILDCARD]
    rewrite_ok = behaviour.supports("registry-rewrite", version) is not False
    endpoints: list[Endpoint] = []
    has_default = False
    for url in (mirror.endpoints if mirror else ()):
        host, plain, path = _split_url(url)
        if path:
            notes.append(f"endpoint {url}: a path after the host is not modelled; read as {host}")
        if _is_default_host(host, ref.domain):
            has_default = True
            endpoints.append(Endpoint(url, host, plain, ref, default=True, mirror=key))
            continue
        new_path = ref.path
        if mirror.rewrites and rewrite_ok:
            new_path = rewrite(ref.path, mirror.rewrites)
        elif mirror.rewrites:
            notes.append(f"k3s {version} predates registries.yaml rewrite (v1.21): the rules are ignored")
        try:
            there = Reference(reference.valid_host(host), new_path, ref.tag, ref.digest)
            reference.parse(str(there))
        except BadReference as e:
            raise BadInput(f"registries.yaml: endpoint {url} with {ref}: {e}") from None
        endpoints.append(Endpoint(url, host, plain, there, rewritten=new_path != ref.path, mirror=key))
    disabled = disable_default_endpoint and mirror is not None and \
        behaviour.supports("disable-default-registry-endpoint", version) is not False
    if not has_default and not disabled:
        endpoints.append(Endpoint(f"https://{ref.domain}", ref.domain, False, ref, default=True))
    if disabled and not endpoints:
        notes.append("no endpoint at all: the mirror lists none and the default endpoint is disabled")
    return Resolution(ref, tuple(endpoints), tuple(notes))


def rewrite(path: str, rules: tuple[tuple[str, str], ...]) -> str:
    """The first rule whose pattern matches ``path`` renames it.  Replacements
    use Go's ``regexp.Expand`` syntax (``$1``, ``${name}``, ``$$``), as k3s's
    containerd does.  When several rules match, k3s's choice is not defined
    (it keeps them in a Go map); we take the first in the file, so rewrite
    patterns should not overlap."""
    for pattern, replacement in rules:
        rx = re.compile(pattern)
        if rx.search(path):
            return rx.sub(lambda m: _go_expand(replacement, m), path)
    return path


_NAME = re.compile(r"[A-Za-z0-9_]+")


def _go_expand(template: str, m: re.Match) -> str:
    """Go ``regexp.Expand``: ``$name`` takes the longest run of letters,
    digits and underscores (``$1x`` is group "1x"); a missing group is empty."""
    out, i = [], 0
    while i < len(template):
        c = template[i]
        if c != "$" or i + 1 == len(template):
            out.append(c)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt == "{":
            end = template.find("}", i + 2)
            name = template[i + 2:end] if end != -1 else ""
            if end == -1 or not _NAME.fullmatch(name):
                out.append(c)
                i += 1
                continue
            i = end + 1
        else:
            nm = _NAME.match(template, i + 1)
            if not nm:
                out.append(c)
                i += 1
                continue
            name = nm.group(0)
            i = nm.end()
        out.append(_group(m, name))
    return "".join(out)


def _group(m: re.Match, name: str) -> str:
    try:
        g = m.group(int(name)) if name.isdigit() else m.group(name)
    except IndexError:          # re raises IndexError for an unknown group number or name
        return ""
    return g or ""


def _split_url(url: str) -> tuple[str, bool, str]:
    text = url if "://" in url else f"https://{url}"   # containerd adds https to a bare host
    u = urlsplit(text)
    if u.scheme not in ("http", "https") or not u.netloc:
        raise BadInput(f"registries.yaml: endpoint {url!r} is not an http(s) URL")
    path = u.path.rstrip("/")
    return u.netloc.rpartition("@")[2], u.scheme == "http", "" if path in ("", "/v2") else path


def _is_default_host(host: str, domain: str) -> bool:
    return host == domain or host == api_host(domain) or (
        domain == DEFAULT_DOMAIN and host.endswith("." + DEFAULT_DOMAIN))
