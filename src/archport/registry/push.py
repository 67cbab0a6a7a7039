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
from typing import Callable

import httpx

from ..errors import (ArchportError, DigestMismatch, HostUnreachable, RateLimited, RegistryError, TransportError,
                      Unauthorized)
from ..oci import Descriptor
from ..reference import Reference
from ..store import BlobOpener
from .auth import safe_url
from .errors import error_from, upload_error
from .retry import RetryPolicy
from .upload import Reader

log = logging.getLogger("archport.registry")

Send = Callable[..., httpx.Response]    # (method, path or URL, headers=, content=, params=), endpoint and scope bound


class _StaleToken(ArchportError):
    """A streamed body met a 401: its token expired mid-upload."""


def upload(send: Send, has_blob: Callable[[], bool], read_back: Callable[[], None], ref: Reference,
           desc: Descriptor, opener: BlobOpener, mount: Reference | None, *, threshold: int, chunk_size: int,
           rehash: bool, retry: RetryPolicy, sleep: Callable[[float], None]) -> str:
    """``"mounted"`` | ``"uploaded"``, once ``has_blob()`` said the repository lacks it.
    ``mount``: another repository of the same registry that holds the blob."""
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
                    read_back()
                    return "mounted"
                location = _location(r, "starting a blob upload")
            if location is None:
                r = send("POST", f"/v2/{ref.path}/blobs/uploads/")
                location = _location(r, "starting a blob upload")
            if desc.size < threshold:
                _put_whole(send, location, desc, opener, rehash)
            else:
                _put_chunked(send, location, desc, opener, chunk_size, rehash)
            return "uploaded"
        except (TransportError, RegistryError, _StaleToken) as e:
            failures += 1
            if isinstance(e, HostUnreachable):     # a name that does not resolve: asking again cannot help
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
            sleep(delay)
            try:
                if has_blob():
                    return "uploaded"
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
