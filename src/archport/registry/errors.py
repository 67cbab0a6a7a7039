"""Turning a registry's error answer, or a failure to get one, into archport's structured errors."""

from __future__ import annotations

import json
import re

import httpx

from ..errors import (ArchportError, DigestMismatch, HostUnreachable, NotFound, RateLimited, RegistryError,
                      TransportError, Unauthorized)
from ..oci import Descriptor
from .auth import host_key, safe_url
from .retry import is_certificate_failure, is_refused, is_stall, is_tls_failure, parse_retry_after

_ERROR_BODY_LIMIT = 64 * 1024
_NOT_FOUND = {"MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_UNKNOWN", "BLOB_UPLOAD_UNKNOWN"}
_UNAUTHORIZED = {"UNAUTHORIZED", "DENIED"}
# OpenSSL's words for "the other side does not speak TLS" (1.1/3.0, and 3.2+).
_NOT_TLS = re.compile(r"WRONG_VERSION_NUMBER|wrong version number|record layer failure|PACKET_LENGTH_TOO_LONG")


def _read_limited(response: httpx.Response) -> bytes:
    try:
        return response.content[:_ERROR_BODY_LIMIT]
    except httpx.ResponseNotRead:
        pass
    out = bytearray()
    try:
        for chunk in response.iter_bytes():
            out += chunk
            if len(out) >= _ERROR_BODY_LIMIT:
                break
    except (httpx.HTTPError, httpx.StreamError):
        pass
    return bytes(out[:_ERROR_BODY_LIMIT])


def parse_error_body(body: bytes) -> tuple[tuple[str, ...], str]:
    """Spec error codes and the first message (distribution-spec "Error Codes")."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return (), ""
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list):
        return (), ""
    codes = tuple(str(e.get("code")) for e in errors if isinstance(e, dict) and e.get("code"))
    message = next((str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")), "")
    return codes, message[:200]


def error_from(response: httpx.Response, what: str = "") -> RegistryError:
    """Read (a bounded part of) the body, close the response, classify."""
    try:
        body = b"" if response.request.method == "HEAD" else _read_limited(response)
    finally:
        response.close()
    codes, message = parse_error_body(body)
    status = response.status_code
    detail = " ".join(x for x in (what, message) if x)
    url = safe_url(response.request.url)
    code_set = set(codes)
    if status == 429 or "TOOMANYREQUESTS" in code_set:
        return RateLimited(status, codes, url, detail, retry_after=parse_retry_after(response.headers.get("retry-after")))
    if status in (401, 403) or code_set & _UNAUTHORIZED:
        return Unauthorized(status, codes, url, detail)
    if status == 404 or code_set & _NOT_FOUND:
        return NotFound(status, codes, url, detail)
    return RegistryError(status, codes, url, detail)


def upload_error(r: httpx.Response, desc: Descriptor) -> ArchportError:
    err = error_from(r, f"uploading blob {desc.digest}")
    if "DIGEST_INVALID" in err.codes or "SIZE_INVALID" in err.codes:
        return DigestMismatch(str(desc.digest), "something else (the registry rejected the bytes)", "blob")
    return err


class Refused(TransportError):
    """Nothing listens on the registry's port (it is down, or the port is
    wrong), after the short retries of :mod:`.retry`.  The host is said, so a
    caller may stop asking it (one failure per host, not per image)."""

    def __init__(self, message: str, host: str) -> None:
        super().__init__(message)
        self.host = host


class Stalled(TransportError):
    """No progress for the stall deadline: the registry accepted the
    connection (or a transfer) and then stopped answering."""

    def __init__(self, message: str, host: str, seconds: float) -> None:
        super().__init__(message)
        self.host, self.seconds = host, seconds


def _deadline(e: httpx.TransportError, key: str) -> float | None:
    """A timeout of the failed request (``connect``, ``read``), as httpx
    recorded it in the request's extensions."""
    try:
        timeouts = e.request.extensions.get("timeout") or {}
    except RuntimeError:       # no request attached
        return None
    value = timeouts.get(key)
    return float(value) if isinstance(value, (int, float)) else None


def transport_error(method: str, url: httpx.URL | str, e: httpx.TransportError) -> TransportError:
    where = safe_url(url)
    u = httpx.URL(url) if isinstance(url, str) else url
    if is_refused(e):
        host = host_key(u)
        return Refused(f"{method} {where}: connection refused: nothing listens on {host} (asked again for a "
                       f"few seconds); is the registry running, and is the port right?", host)
    if is_stall(e):
        host = host_key(u)
        n = _deadline(e, "read")            # the stall deadline (read and write alike)
        if isinstance(e, httpx.ConnectTimeout):
            c = _deadline(e, "connect")
            within = f"within {c:g} s" if c is not None else "in time"
            what = f"{host} did not complete a connection (TCP, then TLS for HTTPS) {within}"
        else:
            what = f"no progress for {n:g} s: {host} stopped answering" if n is not None \
                else f"no progress: {host} stopped answering"
        hint = f" (the stall deadline, --stall-timeout {n:g}: raise it if the registry is only slow)" \
            if n is not None else ""
        return Stalled(f"{method} {where}: {what}{hint}", host, n or 0.0)
    if is_certificate_failure(e):
        return TransportError(f"{method} {where}: TLS certificate not trusted (pass the CA with --ca-file)")
    reason = str(e) or type(e).__name__
    if u.scheme == "https" and is_tls_failure(e) and _NOT_TLS.search(reason):
        # A server that answered our TLS hello in plain HTTP.
        host = host_key(u)
        return TransportError(f"{method} {where}: {host} does not speak TLS ({reason}); if it is a plain-HTTP "
                              f"registry you trust, name it with --plain-http {host}")
    return TransportError(f"{method} {where}: {reason}")


def unreachable_error(host: str, domain: str, *, mirror_for: str = "", redirected: bool = False) -> HostUnreachable:
    """Plain words for a host name that does not resolve from this machine,
    and what would get the images anyway.  ``host`` is the name that failed;
    ``domain`` the registry the user named (Docker Hub's API host is not its name)."""
    if mirror_for:
        return HostUnreachable(
            f"cannot reach mirror {host} (--mirror {mirror_for}={host}): its name does not resolve from this "
            f"machine", host, domain,
            "check the --mirror value, or this machine's network and DNS")
    if redirected:
        what = f"cannot reach {host}, where registry {domain} sends us (for a token or a download): its name does not resolve " \
               f"from this machine"
    elif host != domain:
        what = f"cannot reach registry {domain}: this machine cannot resolve its name ({host}); it is offline, " \
               f"or its DNS does not know that name"
    else:
        what = f"cannot reach registry {domain}: this machine cannot resolve its name; it is offline, or its DNS " \
               f"does not know that name"
    return HostUnreachable(
        what, host, domain,
        f"name a registry this machine can reach as a mirror (--mirror {domain}=HOST); to fill one, copy the "
        f"images on a machine that reaches {domain} (archport copy IMAGE oci:DIR:TAG), bring DIR here and push "
        f"it (archport copy oci:DIR:TAG HOST/REPOSITORY:TAG); or run archport on a machine that can reach {domain}")
