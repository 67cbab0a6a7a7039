"""Turning a registry's error answer into archport's structured errors."""

from __future__ import annotations

import json

import httpx

from ..errors import NotFound, RateLimited, RegistryError, Unauthorized
from .auth import safe_url
from .retry import parse_retry_after

_ERROR_BODY_LIMIT = 64 * 1024
_NOT_FOUND = {"MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_UNKNOWN", "BLOB_UPLOAD_UNKNOWN"}
_UNAUTHORIZED = {"UNAUTHORIZED", "DENIED"}


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
