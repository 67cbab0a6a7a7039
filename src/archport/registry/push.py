"""Pushing one blob: the distribution-spec upload session, and a fresh one after a failure.

The anatomy is drawn in the package docstring.  The client decides where and
with which token (:class:`~.client.Client` binds the endpoint and the push
scope into ``send``); this module decides what to send: a cross-repository
mount, else a session that takes the body in one PUT or in PATCHed chunks,
and, when a session fails, whether the blob landed anyway before a new one
is opened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import httpx

from ..errors import (ArchportError, DigestMismatch, HostUnreachable, RateLimited, RegistryError, TransportError,
                      Unauthorized)
from ..oci import Descriptor
from ..reference import Reference
from ..store import BlobOpener
from .auth import safe_url
from .errors import Refused, Stalled, error_from, upload_error
from .retry import RetryPolicy
from .upload import Reader

log = logging.getLogger("archport.registry")

Send = Callable[..., httpx.Response]    # (method, path or URL, headers=, content=, params=), endpoint and scope bound


@dataclass(frozen=True, slots=True)
class Chunking:
    """When a blob goes up in PATCHed chunks instead of one PUT, and how big each chunk is."""

    threshold: int = 64 << 20
    size: int = 16 << 20


@dataclass(frozen=True, slots=True)
class Remote:
    """The registry's side of one blob's upload, bound by the client to the
    endpoint, the repository and the token's scope."""

    send: Send
    has_blob: Callable[[], bool]        # HEAD: is it there (did it land)?
    read_back: Callable[[], None]       # GET and hash what a mount linked (with --verify-blobs)


@dataclass(frozen=True, slots=True)
class Policy:
    """How an upload is sent, and retried in a fresh session."""

    chunking: Chunking
    rehash: bool                        # hash the body on the way (False: the source checks its own)
    retry: RetryPolicy
    sleep: Callable[[float], None]


class _StaleToken(ArchportError):
    """A streamed body met a 401: its token expired mid-upload."""


def upload(remote: Remote, policy: Policy, ref: Reference, desc: Descriptor, opener: BlobOpener,
           mount: Reference | None) -> str:
    """``"mounted"`` | ``"uploaded"``, once ``remote.has_blob()`` said the repository lacks it.
    ``mount``: another repository of the same registry that holds the blob."""
    send, has_blob, retry = remote.send, remote.has_blob, policy.retry
    failures = 0
    while True:
        try:
            location = None
            if mount is not None:
                r = send("POST", f"/v2/{ref.path}/blobs/uploads/",
                         params=[("mount", str(desc.digest)), ("from", mount.path)])
                if r.status_code == 201:
                    r.close()
                    # The registry linked a blob it holds for another
                    # repository: its bytes never passed through us.
                    if not has_blob():
                        raise DigestMismatch(str(desc.digest), "nothing (the mount did not land)", "blob")
                    remote.read_back()
                    return "mounted"
                location = _location(r, "starting a blob upload")
            if location is None:
                r = send("POST", f"/v2/{ref.path}/blobs/uploads/")
                location = _location(r, "starting a blob upload")
            if desc.size < policy.chunking.threshold:
                _put_whole(send, location, desc, opener, policy.rehash)
            else:
                _put_chunked(send, location, desc, opener, policy.chunking.size, policy.rehash)
            return "uploaded"
        except (TransportError, RegistryError, _StaleToken) as e:
            failures += 1
            # A name that does not resolve, a port where nothing listens (the
            # transport already asked again for a while), a registry that
            # stopped answering for the whole stall deadline: a new session
            # would only repeat the wait.
            if isinstance(e, (HostUnreachable, Refused, Stalled)):
                raise
            retryable = isinstance(e, (TransportError, _StaleToken)) or e.temporary or \
                bool({"BLOB_UPLOAD_UNKNOWN", "BLOB_UPLOAD_INVALID"} & set(e.codes)) or e.status == 416
            if not retryable or failures >= retry.attempts:
                if isinstance(e, _StaleToken):
                    raise Unauthorized(401, (), safe_url(ref.repository), "token refused during upload") from None
                raise
            delay = e.retry_after if isinstance(e, RateLimited) and e.retry_after else retry.backoff(failures)
            log.debug("upload of %s to %s failed (%s); checking, then a new session in %.2fs",
                      desc.digest, ref.repository, type(e).__name__, delay)
            policy.sleep(delay)
            try:
                if has_blob():
                    return "uploaded"
            except (HostUnreachable, Refused, Stalled):
                raise
            except (TransportError, RegistryError):
                pass


def _location(r: httpx.Response, what: str) -> httpx.URL:
    if r.status_code != 202 or "location" not in r.headers:
        raise error_from(r, what)
    return r.request.url.join(r.headers["location"])


def _stream_send(send: Send, method: str, url: httpx.URL, headers: dict[str, str], content) -> httpx.Response:
    r = send(method, url, headers=headers, content=content)
    if r.status_code == 401:
        r.close()
        raise _StaleToken("401 on a streamed upload")
    return r


def _put_whole(send: Send, location: httpx.URL, desc: Descriptor, opener: BlobOpener, rehash: bool = True) -> None:
    """POST then one streamed PUT with Content-Length (spec: "monolithic upload")."""
    url = location.copy_merge_params({"digest": str(desc.digest)})
    with opener() as chunks:
        body = Reader(chunks, desc, rehash).all()
        r = _stream_send(send, "PUT", url, {"Content-Type": "application/octet-stream",
                                            "Content-Length": str(desc.size)}, body)
    if r.status_code != 201:
        raise upload_error(r, desc)


def _put_chunked(send: Send, location: httpx.URL, desc: Descriptor, opener: BlobOpener, chunk_size: int,
                 rehash: bool = True) -> None:
    """PATCH chunk after chunk (Content-Range), then PUT ?digest= to close."""
    url, offset = location, 0
    with opener() as chunks:
        reader = Reader(chunks, desc, rehash)
        while offset < desc.size:
            n = min(chunk_size, desc.size - offset)
            r = _stream_send(send, "PATCH", url, {
                "Content-Type": "application/octet-stream", "Content-Length": str(n),
                "Content-Range": f"{offset}-{offset + n - 1}"}, reader.take(n))
            url = _location(r, f"uploading blob {desc.digest}")
            offset += n
        reader.finish()
    r = send("PUT", url.copy_merge_params({"digest": str(desc.digest)}), content=b"")
    if r.status_code != 201:
        raise upload_error(r, desc)
