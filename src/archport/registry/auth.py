"""Registry authentication as an httpx.Auth generator (sans-I/O, test-drivable).

The dance (distribution ``docs/spec/auth/token.md``, ``oauth.md``)::

    GET /v2/x/manifests/t            ──►  401  WWW-Authenticate: Bearer realm=…,service=…,scope=…
    GET realm?service=…&scope=…      ──►  200  {"token": …, "expires_in": …}   (Basic creds, or none)
      or POST realm grant_type=refresh_token&refresh_token=<identity token>   (OAuth2)
    GET /v2/x/manifests/t  + Bearer  ──►  200

Once a host's challenge is known, a request for a new scope fetches its token
*before* being sent, so a streamed upload body is never sent twice.  Tokens
are cached per (realm, service, scope) until shortly before they expire; a
token granted for ``pull,push`` also serves ``pull``.  ``Basic`` challenges
are answered with the host's credentials and then sent pre-emptively.

Requests carry two extensions set by the client: ``archport.scope`` (tuple
of ``repository:NAME:ACTIONS`` strings) and ``archport.domain`` (whose
credentials to use).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Generator, Iterable, Mapping

import httpx

from ..errors import RateLimited, RegistryError, Unauthorized
from .credentials import Credential, Credentials
from .retry import parse_retry_after, replayable

SCOPE = "archport.scope"
DOMAIN = "archport.domain"
CLIENT_ID = "archport"
_MIN_TOKEN_LIFE = 60  # token.md: "a minimum of 60 seconds" when expires_in is absent

_SCHEME = re.compile(r"\s*,?\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?=\s|,|$)")
_PARAM = re.compile(r'\s*,?\s*([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*')


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str                                   # lowercase: "bearer" | "basic" | …
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(s for s in self.params.get("scope", "").split(" ") if s)


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a WWW-Authenticate value (RFC 9110 §11.6.1); quoted values may hold commas."""
    out: list[Challenge] = []
    pos, n = 0, len(header or "")
    while pos < n:
        m = _SCHEME.match(header, pos)
        if not m:
            break
        pos = m.end()
        params: dict[str, str] = {}
        while True:
            pm = _PARAM.match(header, pos)
            if not pm:
                break
            value = pm.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[pm.group(1).lower()] = value
            pos = pm.end()
        out.append(Challenge(m.group(1).lower(), MappingProxyType(params)))
    return out


def repository_scope(path: str, actions: str) -> str:
    return f"repository:{path}:{actions}"


def _grants(scopes: Iterable[str]) -> dict[tuple[str, str], frozenset[str]]:
    """``repository:a/b:pull,push`` → {("repository", "a/b"): {"pull", "push"}}."""
    out: dict[tuple[str, str], set[str]] = {}
    for s in scopes:
        head, _, actions = s.rpartition(":")
        typ, _, name = head.partition(":")
        out.setdefault((typ, name), set()).update(a for a in actions.split(",") if a)
    return {k: frozenset(v) for k, v in out.items()}


def merge_scopes(*groups: Iterable[str]) -> tuple[str, ...]:
    """Union of scopes, one string per resource, in a stable order."""
    merged = _grants(s for g in groups for s in g)
    return tuple(f"{t}:{n}:{','.join(sorted(a))}" for (t, n), a in sorted(merged.items()))


class TokenCache:
    """Bearer tokens per (realm, service) and the scopes they were asked for."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], list[tuple[dict, str, float]]] = {}

    def get(self, realm: str, service: str, scopes: tuple[str, ...]) -> str | None:
        want = _grants(scopes)
        now = self._clock()
        with self._lock:
            for grants, token, expires in self._entries.get((realm, service), ()):
                if expires > now and all(a <= grants.get(r, frozenset()) for r, a in want.items()):
                    return token
        return None

    def put(self, realm: str, service: str, scopes: tuple[str, ...], token: str, expires_in: float) -> None:
        # Renew a little early so a token does not expire on the wire.
        life = max(1.0, expires_in - min(30.0, expires_in / 5))
        with self._lock:
            entries = [e for e in self._entries.get((realm, service), ()) if e[2] > self._clock()]
            entries.append((_grants(scopes), token, self._clock() + life))
            self._entries[(realm, service)] = entries

    def drop(self, token: str) -> None:
        with self._lock:
            for key, entries in self._entries.items():
                self._entries[key] = [e for e in entries if e[1] != token]


def host_key(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port}" if url.port else host


def safe_url(url: httpx.URL | str) -> str:
    """scheme://host[:port]/path — no userinfo, no query (presigned URLs carry secrets there)."""
    u = httpx.URL(url) if isinstance(url, str) else url
    return f"{u.scheme}://{u.netloc.decode('ascii')}{u.path}"


def token_error(response: httpx.Response, realm: str) -> RegistryError:
    """An error for a refused token request; the body is never quoted."""
    status = response.status_code
    url = safe_url(realm)
    if status in (401, 403):
        return Unauthorized(status, (), url, "token request refused (check credentials)")
    if status == 429:
        return RateLimited(status, ("TOOMANYREQUESTS",), url, retry_after=parse_retry_after(response.headers.get("retry-after")))
    return RegistryError(status, (), url, "token request failed")


class RegistryAuth(httpx.Auth):
    """One per :class:`~archport.registry.client.Client`; shared by its threads."""

    def __init__(self, credentials: Credentials | None, allows_plain_http: Callable[[str], bool],
                 cache: TokenCache | None = None) -> None:
        self._credentials = credentials
        self._allows_plain_http = allows_plain_http
        self.cache = cache or TokenCache()
        self._challenges: dict[str, Challenge] = {}
        self._lock = threading.Lock()

    # -- the flow ---------------------------------------------------------
    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        host = host_key(request.url)
        domain = request.extensions.get(DOMAIN) or host
        scopes = tuple(request.extensions.get(SCOPE) or ())
        can_replay = replayable(request)   # before sending: transports may buffer
        with self._lock:
            known = self._challenges.get(host)
        sent = None
        if known is not None and "Authorization" not in request.headers:
            sent = yield from self._authorization(known, domain, scopes)
            if sent:
                request.headers["Authorization"] = sent
        response = yield request
        if response.status_code != 401:
            return
        challenge = _choose(parse_challenges(response.headers.get("www-authenticate", "")))
        if challenge is None:
            return
        with self._lock:
            self._challenges[host] = challenge
        if sent and sent.startswith("Bearer "):
            self.cache.drop(sent[len("Bearer "):])
        if not can_replay:
            # A streamed body cannot be sent twice; the caller retries in a new
            # upload session, which will carry a fresh token.
            return
        header = yield from self._authorization(challenge, domain, merge_scopes(scopes, challenge.scopes), fresh=True)
        if not header or header == sent:
            return
        request.headers["Authorization"] = header
        yield request

    def _credential(self, domain: str) -> Credential | None:
        return self._credentials.lookup(domain) if self._credentials is not None else None

    def _authorization(self, challenge: Challenge, domain: str, scopes: tuple[str, ...],
                       fresh: bool = False) -> Generator[httpx.Request, httpx.Response, str | None]:
        if challenge.scheme == "basic":
            cred = self._credential(domain)
            if cred is None or cred.is_identity_token:
                return None
            return _basic(cred)
        if challenge.scheme != "bearer" or not challenge.realm:
            return None
        if not fresh:
            token = self.cache.get(challenge.realm, challenge.service, scopes)
            if token:
                return f"Bearer {token}"
        token = yield from self._fetch_token(challenge, domain, scopes)
        return f"Bearer {token}"

    def _fetch_token(self, challenge: Challenge, domain: str,
                     scopes: tuple[str, ...]) -> Generator[httpx.Request, httpx.Response, str]:
        realm = httpx.URL(challenge.realm)
        if realm.scheme != "https" and not (realm.scheme == "http" and self._allows_plain_http(host_key(realm))):
            raise Unauthorized(401, (), safe_url(realm), "token realm is not HTTPS; refusing to use it")
        cred = self._credential(domain)
        if cred is not None and cred.is_identity_token:
            # OAuth2 refresh-token grant (distribution docs/spec/auth/oauth.md).
            form = {"grant_type": "refresh_token", "refresh_token": cred.secret, "client_id": CLIENT_ID,
                    "service": challenge.service, "scope": " ".join(scopes)}
            req = httpx.Request("POST", realm, data=form)
        else:
            params: list[tuple[str, str]] = []
            if challenge.service:
                params.append(("service", challenge.service))
            params += [("scope", s) for s in scopes]
            headers = {}
            if cred is not None:
                params.append(("account", cred.username))
                headers["Authorization"] = _basic(cred)
            req = httpx.Request("GET", realm.copy_merge_params(params), headers=headers)
        response = yield req
        response.read()
        if response.status_code != 200:
            raise token_error(response, challenge.realm)
        try:
            doc = json.loads(response.content)
            token = doc.get("token") or doc.get("access_token")
            expires_in = float(doc.get("expires_in") or _MIN_TOKEN_LIFE)
        except (ValueError, AttributeError, TypeError):
            token = None
        if not token or not isinstance(token, str):
            raise RegistryError(response.status_code, (), safe_url(realm), "token response has no token")
        self.cache.put(challenge.realm, challenge.service, scopes, token, expires_in)
        return token


def _choose(challenges: list[Challenge]) -> Challenge | None:
    for scheme in ("bearer", "basic"):
        for c in challenges:
            if c.scheme == scheme:
                return c
    return None


def _basic(cred: Credential) -> str:
    return "Basic " + base64.b64encode(f"{cred.username}:{cred.secret}".encode()).decode("ascii")
