"""Credentials from the places users already keep them.

* docker's ``config.json``: ``auths`` (``auth`` = base64 ``user:password``,
  or ``username``/``password``, or ``identitytoken``), ``credHelpers`` (per
  host) and ``credsStore`` (all hosts) through ``docker-credential-<name> get``
  (docker-credential-helpers protocol: server URL on stdin, JSON
  ``{"Username", "Secret"}`` on stdout).
* containers' ``auth.json`` (``REGISTRY_AUTH_FILE``; containers-auth.json(5)):
  the same ``auths`` format, whose keys may also name ``host/namespace``.

An *identity token* (an OAuth2 refresh token) is represented the way the
helpers do it: username ``<token>`` and the token as the secret.

The caller (the CLI) passes the file locations; nothing here reads the
environment.  Secrets never appear in exceptions or logs.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
import threading
from typing import Any, Mapping, NamedTuple

from ..errors import ArchportError, BadInput
from ..reference import DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN

IDENTITY_TOKEN_USER = "<token>"
# The key docker itself writes for docker.io (docker/cli registry.IndexServer).
DOCKER_IO_KEY = f"https://{LEGACY_DEFAULT_DOMAIN}/v1/"
_DOCKER_IO_ALIASES = {DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN, "registry-1." + DEFAULT_DOMAIN}


class Credential(NamedTuple):
    username: str
    secret: str

    @property
    def is_identity_token(self) -> bool:
        return self.username == IDENTITY_TOKEN_USER

    def __repr__(self) -> str:  # never show the secret, even in a debugger dump
        return f"Credential(username={self.username!r}, secret=<redacted>)"


def normalize_key(key: str) -> str:
    """docker's legacy ``https://<index>/v1/`` key → ``docker.io``; ``http://h:5000/v2/`` → ``h:5000``;
    ``h/ns/repo`` stays (containers-auth.json namespaces)."""
    k = key.strip()
    for prefix in ("https://", "http://"):
        if k.startswith(prefix):
            k = k[len(prefix):]
            # A URL key names a host; its path is an API version, not a namespace.
            k = k.split("/", 1)[0]
            break
    k = k.rstrip("/")
    host, sep, rest = k.partition("/")
    if host in _DOCKER_IO_ALIASES:
        host = DEFAULT_DOMAIN
    return host + sep + rest if rest else host


def helper_server_url(host: str) -> str:
    """The server URL docker passes to a credential helper for ``host``."""
    return DOCKER_IO_KEY if host == DEFAULT_DOMAIN else host


def _decode_entry(entry: Any, key: str, origin: str) -> Credential | None:
    if not isinstance(entry, Mapping):
        raise BadInput(f"{origin}: auths entry for {normalize_key(key)!r} is not an object")
    if entry.get("identitytoken"):
        return Credential(IDENTITY_TOKEN_USER, str(entry["identitytoken"]))
    if entry.get("auth"):
        try:
            text = base64.b64decode(str(entry["auth"]), validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise BadInput(f"{origin}: auths entry for {normalize_key(key)!r} has an invalid 'auth' value") from None
        user, sep, password = text.partition(":")
        if not sep:
            raise BadInput(f"{origin}: auths entry for {normalize_key(key)!r} has an invalid 'auth' value")
        return Credential(user, password)
    if entry.get("username") and entry.get("password"):
        return Credential(str(entry["username"]), str(entry["password"]))
    return None


class _ConfigFile:
    """One parsed config document (docker config.json or containers auth.json)."""

    def __init__(self, doc: Mapping[str, Any], origin: str) -> None:
        self.origin = origin
        auths = doc.get("auths") or {}
        if not isinstance(auths, Mapping):
            raise BadInput(f"{origin}: 'auths' is not an object")
        self.auths = {normalize_key(k): (k, v) for k, v in auths.items()}
        helpers = doc.get("credHelpers") or {}
        if not isinstance(helpers, Mapping):
            raise BadInput(f"{origin}: 'credHelpers' is not an object")
        self.helpers = {normalize_key(k): str(v) for k, v in helpers.items()}
        self.store = str(doc["credsStore"]) if doc.get("credsStore") else None

    @classmethod
    def load(cls, path: str) -> "_ConfigFile | None":
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise BadInput(f"cannot read {path}: {e.strerror}") from None
        try:
            doc = json.loads(raw) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise BadInput(f"{path} is not valid JSON") from None
        if not isinstance(doc, Mapping):
            raise BadInput(f"{path} is not a JSON object")
        return cls(doc, path)

    def lookup(self, candidates: list[str], host: str) -> Credential | None:
        for c in candidates:
            if c in self.helpers:
                return run_helper(self.helpers[c], helper_server_url(host))
            if c in self.auths:
                key, entry = self.auths[c]
                found = _decode_entry(entry, key, self.origin)
                if found is not None:
                    return found
        if self.store:
            return run_helper(self.store, helper_server_url(host))
        return None


def run_helper(name: str, server_url: str) -> Credential | None:
    """``docker-credential-<name> get``; None when it has nothing for the server."""
    prog = f"docker-credential-{name}"
    try:
        proc = subprocess.run([prog, "get"], input=server_url.encode(), capture_output=True, timeout=60)
    except FileNotFoundError:
        raise BadInput(f"credential helper {prog} is not installed (named in the docker config)") from None
    except subprocess.TimeoutExpired:
        raise ArchportError(f"credential helper {prog} did not answer within 60s") from None
    if proc.returncode != 0:
        # The helpers' protocol: "credentials not found in native keychain".
        if b"credentials not found" in (proc.stdout + proc.stderr).lower():
            return None
        # Helper output is not repeated: it may echo what it was given.
        raise ArchportError(f"credential helper {prog} failed (exit {proc.returncode})")
    try:
        doc = json.loads(proc.stdout)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ArchportError(f"credential helper {prog} returned something that is not JSON") from None
    if not isinstance(doc, Mapping) or not doc.get("Secret"):
        return None
    return Credential(str(doc.get("Username") or ""), str(doc["Secret"]))


class Credentials:
    """``lookup(host)`` → :class:`Credential` (a ``(username, secret)`` tuple) or None.

    Files are searched in the order given (auth file first, then docker's
    config); within one, the most specific key wins (``host/ns/repo`` before
    ``host``), ``credHelpers`` before ``auths`` before ``credsStore``.
    Results are memoized: helpers are processes.
    """

    def __init__(self, files: list[_ConfigFile] | None = None,
                 static: Mapping[str, tuple[str, str]] | None = None) -> None:
        self._files = list(files or ())
        self._static = {normalize_key(k): Credential(*v) for k, v in (static or {}).items()}
        self._memo: dict[tuple[str, str | None], Credential | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def static(cls, mapping: Mapping[str, tuple[str, str]]) -> "Credentials":
        """Fixed credentials per host (tests, or a CLI ``--creds`` flag)."""
        return cls(static=mapping)

    def lookup(self, host: str, repository: str | None = None) -> Credential | None:
        host = normalize_key(host)
        key = (host, repository)
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        candidates = []
        if repository:
            parts = repository.split("/")
            candidates = [f"{host}/{'/'.join(parts[:i])}" for i in range(len(parts), 0, -1)]
        candidates.append(host)
        found = next((self._static[c] for c in candidates if c in self._static), None)
        for f in self._files:
            if found is not None:
                break
            found = f.lookup(candidates, host)
        with self._lock:
            self._memo[key] = found
        return found

    def __repr__(self) -> str:
        return f"Credentials({len(self._files)} files, {len(self._static)} static)"


def load_credentials(docker_config_dir: str | None, auth_file: str | None) -> Credentials:
    """Read ``<docker_config_dir>/config.json`` and ``auth_file``
    (the value of ``REGISTRY_AUTH_FILE``, passed in by the caller).  Missing
    files are not an error: most users have none."""
    files = []
    if auth_file:
        f = _ConfigFile.load(auth_file)
        if f is not None:
            files.append(f)
    if docker_config_dir:
        f = _ConfigFile.load(os.path.join(docker_config_dir, "config.json"))
        if f is not None:
            files.append(f)
    return Credentials(files)
