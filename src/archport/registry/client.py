"""The distribution-API client: manifests, blobs, uploads, tags.

Layers, top to bottom (STYLE.md, after go-containerregistry's transports)::

    Client            what to ask (paths, scopes, mirrors); a blob's upload session in :mod:`.push`
    RegistryAuth      401 → token → retry (httpx.Auth generator)
    RetryTransport    backoff on 5xx / 429 / connection errors
    HTTPTransport     TLS with verification, pooled connections
"""

from __future__ import annotations

import logging
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, TypeVar

import httpx

from ..errors import ArchportError, DigestMismatch, HostUnreachable, NotFound, RegistryError
from ..oci import Descriptor, Index, Manifest, mediatypes as mt, parse_manifest
from ..oci.digest import Digest
from ..reference import Reference, is_loopback_host
from ..store import BlobOpener
from . import push
from .auth import DOMAIN, SCOPE, RegistryAuth, merge_scopes, repository_scope, safe_url
from .credentials import Credentials
from .errors import error_from, transport_error, unreachable_error
from .hosts import HostOptions, PlainHTTPGuard, api_host, ssl_context
from .retry import RetryPolicy, RetryTransport, is_certificate_failure, is_name_resolution_failure, is_tls_failure
from .upload import CHUNK, content_digest, verified_stream

log = logging.getLogger("archport.registry")

_READS = ("GET", "HEAD")
MANIFEST_LIMIT = 4 << 20        # distribution's default maximum manifest size
_LINK_NEXT = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')
_T = TypeVar("_T")
STALL_TIMEOUT = 60.0            # seconds without progress before a transfer fails (--stall-timeout)


def stall_deadline(seconds: float) -> httpx.Timeout:
    """httpx's timeouts are per socket operation, so they bound the time
    *without progress*, not a transfer's length: a slow, steady download of
    any size never trips them, a registry that stops answering always does.
    Connecting gets at most 15 s; waiting for a free pooled connection is
    not the registry's stall and is not bounded here."""
    return httpx.Timeout(connect=min(15.0, seconds), read=seconds, write=seconds, pool=None)


@dataclass(frozen=True, slots=True)
class Transfer:
    """How transfers behave: connections per host, the stall deadline, and
    which blobs are read back and hashed."""

    max_connections: int = 8
    stall_timeout: float = STALL_TIMEOUT   # seconds without progress (--stall-timeout)
    # Read back (and hash) a blob the destination already had or mounted,
    # whose bytes never passed through us (--verify-blobs).
    verify_blobs: bool = False
    # Read back a blob *we* mount from another repository, even without
    # --verify-blobs: the mount is our claim that the image is whole, and the
    # registry's HEAD only vouches for the size and the name it keeps the blob
    # under, not for its bytes (--no-verify-blobs turns it off).
    verify_mounts: bool = True


@dataclass(frozen=True, slots=True)
class _Endpoint:
    host: str                                  # API host[:port]
    domain: str                                # whose credentials apply
    params: tuple[tuple[str, str], ...] = ()   # ?ns=<domain> on mirrors
    mirror: bool = False


class Client:
    """One per run, shared by the copy threads (httpx.Client is thread-safe)."""

    def __init__(self, options: HostOptions = HostOptions(), credentials: Credentials | None = None, *,
                 retry: RetryPolicy | None = None, transport: httpx.BaseTransport | None = None,
                 transfer: Transfer = Transfer(), chunking: push.Chunking = push.Chunking(),
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.options = options
        self.verify_blobs = transfer.verify_blobs
        self.verify_mounts = transfer.verify_mounts or transfer.verify_blobs
        self.retry = retry or RetryPolicy()
        self.chunking = chunking
        self._sleep = sleep
        n = transfer.max_connections
        inner = transport or httpx.HTTPTransport(
            verify=ssl_context(options.ca_file),
            limits=httpx.Limits(max_connections=n, max_keepalive_connections=n))
        self.auth = RegistryAuth(credentials, options.allows_plain_http)
        self._http = httpx.Client(
            transport=PlainHTTPGuard(RetryTransport(inner, self.retry, sleep), options.allows_plain_http),
            auth=self.auth,
            timeout=stall_deadline(transfer.stall_timeout), headers={"User-Agent": "archport"},
            event_hooks={"response": [_log_response]})
        self._schemes: dict[str, str] = {}
        self._scheme_lock = threading.Lock()
        # Hosts whose name did not resolve: every later request to them fails
        # at once with the same error (one failure per host, not per image).
        self._unreachable: dict[str, HostUnreachable] = {}

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing ------------------------------------------------------------
    def _scheme(self, host: str) -> str:
        with self._scheme_lock:
            if host not in self._schemes:
                if self.options.named_plain(host):
                    self._schemes[host] = "http"
                elif not is_loopback_host(host):
                    self._schemes[host] = "https"
                else:
                    self._schemes[host] = self._probe(host)
            return self._schemes[host]

    def _probe(self, host: str) -> str:
        """Loopback: HTTPS unless the server answers TLS with plain HTTP."""
        try:
            self._http.get(f"https://{host}/v2/", auth=None)
            return "https"
        except httpx.TransportError as e:
            if is_certificate_failure(e) or not is_tls_failure(e):
                raise transport_error("GET", f"https://{host}/v2/", e) from e
            first = e
        try:
            self._http.get(f"http://{host}/v2/", auth=None)
        except httpx.TransportError:
            raise transport_error("GET", f"https://{host}/v2/", first) from first
        log.debug("%s speaks plain HTTP (loopback)", host)
        return "http"

    def unreachable(self, host: str) -> HostUnreachable | None:
        """The remembered failure of ``host`` (an API host, e.g. a mirror's), if its name did not resolve."""
        return self._unreachable.get(host)

    def _send(self, method: str, ep: _Endpoint, target: str | httpx.URL, *, scope: tuple[str, ...],
              headers: dict[str, str] | None = None, content=None, params=None,
              stream: bool = False) -> httpx.Response:
        known = self._unreachable.get(ep.host)
        if known is not None:
            raise known
        url = target if isinstance(target, httpx.URL) else httpx.URL(f"{self._scheme(ep.host)}://{ep.host}{target}")
        if ep.params or params:
            url = url.copy_merge_params([*ep.params, *(params or ())])
        request = self._http.build_request(method, url, headers=headers, content=content,
                                           extensions={SCOPE: scope, DOMAIN: ep.domain})
        try:
            # Reads follow redirects (a registry may send a blob GET to its
            # storage, distribution-spec "Pulling blobs"); a write never does:
            # its body and token are for this host.
            return self._http.send(request, stream=stream, follow_redirects=method in _READS)
        except httpx.TransportError as e:
            if is_name_resolution_failure(e):
                raise self._remember_unreachable(ep, e) from e
            raise transport_error(method, url, e) from e

    def _remember_unreachable(self, ep: _Endpoint, e: httpx.TransportError) -> HostUnreachable:
        failed = ep.host
        try:
            u = e.request.url     # a redirect may have led to another host (a blob CDN)
            failed = f"{u.host}:{u.port}" if u.port else u.host
        except RuntimeError:      # no request attached
            pass
        origin = dict(ep.params).get("ns", "") if ep.mirror else ""
        err = unreachable_error(failed, ep.domain if not ep.mirror else origin or ep.host,
                                mirror_for=origin if ep.mirror else "", redirected=failed != ep.host)
        if failed == ep.host:
            self._unreachable[ep.host] = err
        log.debug("%s does not resolve (%s); not asking it again in this run", failed, e)
        return err

    def _endpoints(self, ref: Reference, use_mirrors: bool) -> list[_Endpoint]:
        eps = []
        if use_mirrors:
            eps = [_Endpoint(m, m, (("ns", ref.domain),), True) for m in self.options.mirrors_for(ref.domain)]
        return [*eps, _Endpoint(api_host(ref.domain), ref.domain)]

    def _first(self, ref: Reference, use_mirrors: bool, fn: Callable[[_Endpoint], _T]) -> _T:
        """Try mirrors in order, then upstream (containerd's hosts.toml order)."""
        *mirrors, upstream = self._endpoints(ref, use_mirrors)
        failed: list[tuple[str, ArchportError]] = []
        for i, ep in enumerate(mirrors):
            try:
                return fn(ep)
            except ArchportError as e:
                failed.append((ep.host, e))
                if self.options.mirror_only and i == len(mirrors) - 1:
                    log.debug("mirror %s failed for %s; --mirror-only: not asking %s", ep.host, ref, ref.domain)
                    e.mirror_failures = tuple(failed)
                    raise
                log.debug("mirror %s failed for %s (%s); trying the next", ep.host, ref, type(e).__name__)
        try:
            return fn(upstream)
        except ArchportError as e:
            # What each mirror said before upstream was asked: the cause the
            # user can act on is often there (a mirror that lacks the image),
            # not in upstream's failure (e.g. unreachable, hence the mirror).
            e.mirror_failures = tuple(failed)
            raise

    # -- manifests -----------------------------------------------------------
    def _fetch_manifest(self, ep: _Endpoint, ref: Reference) -> Manifest | Index:
        r = self._send("GET", ep, f"/v2/{ref.path}/manifests/{ref.identifier}", scope=_pull(ref),
                       headers={"Accept": mt.ACCEPT}, stream=True)
        try:
            if r.status_code != 200:
                raise error_from(r, f"manifest {ref.identifier}")
            raw = bytearray()
            for chunk in r.iter_bytes(CHUNK):
                raw += chunk
                if len(raw) > MANIFEST_LIMIT:
                    raise RegistryError(r.status_code, (), safe_url(r.request.url), f"manifest larger than {MANIFEST_LIMIT} bytes")
        except httpx.TransportError as e:
            raise transport_error("GET", r.request.url, e) from e
        finally:
            r.close()
        digest = Digest.parse(ref.digest) if ref.digest else None
        if digest is not None:
            digest.verify(bytes(raw), f"manifest {ref}")
        claimed = content_digest(r)
        if claimed is not None:
            # distribution-spec "Pulling manifests": the registry names the
            # digest of what it serves.  Bytes that do not hash to it were
            # changed on the way (a proxy, a mirror) or in storage.
            claimed.verify(bytes(raw), f"manifest {ref} (against the registry's Docker-Content-Digest)")
        return parse_manifest(bytes(raw), r.headers.get("content-type"), digest)

    def get_manifest(self, ref: Reference) -> Manifest | Index:
        return self._first(ref, True, lambda ep: self._fetch_manifest(ep, ref))

    def head_manifest(self, ref: Reference, *, use_mirrors: bool = True) -> Descriptor | None:
        """None on 404.  A sink passes ``use_mirrors=False``: a mirror having
        an image says nothing about the registry we push to."""
        def head(ep: _Endpoint) -> Descriptor:
            r = self._send("HEAD", ep, f"/v2/{ref.path}/manifests/{ref.identifier}", scope=_pull(ref),
                           headers={"Accept": mt.ACCEPT})
            if r.status_code != 200:
                raise error_from(r, f"manifest {ref.identifier}")
            ctype = r.headers.get("content-type", "").split(";")[0].strip()
            dgst, size = r.headers.get("docker-content-digest"), r.headers.get("content-length")
            if not dgst or ctype not in mt.MANIFESTS or not (size or "").isdigit():
                return self._fetch_manifest(ep, ref).descriptor()   # HEAD said too little
            d = Digest.parse(dgst)
            if ref.digest and str(d) != ref.digest:
                raise DigestMismatch(ref.digest, str(d), "manifest")
            return Descriptor(ctype, d, int(size))
        try:
            return self._first(ref, use_mirrors, head)
        except NotFound:
            return None

    def put_manifest(self, ref: Reference, m: Manifest | Index) -> None:
        """PUT ``m.raw`` verbatim (never re-serialized: the digest is over these bytes)."""
        if ref.digest and ref.digest != str(m.digest):
            raise DigestMismatch(ref.digest, str(m.digest), "manifest")
        ep = self._endpoints(ref, False)[0]
        r = self._send("PUT", ep, f"/v2/{ref.path}/manifests/{ref.identifier}", scope=_push(ref),
                       headers={"Content-Type": m.media_type}, content=m.raw)
        if r.status_code not in (200, 201, 202):
            raise error_from(r, f"putting manifest {ref.identifier}")
        got = r.headers.get("docker-content-digest")
        if got and got.split(":")[0] == m.digest.algorithm and got != str(m.digest):
            raise DigestMismatch(str(m.digest), got, "manifest")

    def referrers(self, ref: Reference, digest: str, *, use_mirrors: bool = True) -> Index | None:
        """distribution-spec v1.1 "Listing Referrers": the index the registry
        keeps of the manifests whose ``subject`` is ``digest``, or None when
        the registry has no referrers API (404: the client then reads the
        referrers tag instead; 400/405 too, as some answer an unknown route)."""
        def listing(ep: _Endpoint) -> Index | None:
            r = self._send("GET", ep, f"/v2/{ref.path}/referrers/{digest}", scope=_pull(ref),
                           headers={"Accept": mt.OCI_INDEX})
            try:
                if r.status_code in (400, 404, 405):
                    return None
                if r.status_code != 200:
                    raise error_from(r, f"referrers of {digest}")
                raw = r.read()
            finally:
                r.close()
            if len(raw) > MANIFEST_LIMIT:
                raise RegistryError(200, (), safe_url(r.request.url), f"referrers larger than {MANIFEST_LIMIT} bytes")
            got = parse_manifest(raw, mt.OCI_INDEX)
            return got if isinstance(got, Index) else None
        return self._first(ref, use_mirrors, listing)

    # -- blobs ---------------------------------------------------------------
    def _head_blob(self, ep: _Endpoint, ref: Reference, desc: Descriptor, scope: tuple[str, ...]) -> bool:
        """True when the registry has the blob, after checking that the
        digest and size it reports are the descriptor's (a blob stored under
        a digest but of another size is damaged, and no upload replaces it)."""
        r = self._send("HEAD", ep, f"/v2/{ref.path}/blobs/{desc.digest}", scope=scope)
        if r.status_code == 404:
            return False
        if r.status_code != 200:
            raise error_from(r, f"blob {desc.digest}")
        what = f"blob in {ref.repository} (the registry's HEAD)"
        claimed = content_digest(r)
        if claimed is not None and claimed.algorithm == desc.digest.algorithm and claimed != desc.digest:
            raise DigestMismatch(str(desc.digest), str(claimed), what)
        size = r.headers.get("content-length", "")
        if size.isdigit() and int(size) != desc.size:
            raise DigestMismatch(str(desc.digest), f"{size} bytes instead of {desc.size}", what)
        return True

    def _read_back(self, ep: _Endpoint, ref: Reference, desc: Descriptor, mounted: bool = False) -> None:
        """GET the stored blob and hash it (DigestMismatch when it is not what its digest says)."""
        if not (self.verify_blobs or (mounted and self.verify_mounts)):
            return
        why = "read back after mounting it" if mounted and not self.verify_blobs else "read back by --verify-blobs"
        r = self._send("GET", ep, f"/v2/{ref.path}/blobs/{desc.digest}", scope=_pull(ref),
                       headers={"Accept-Encoding": "identity"}, stream=True)
        try:
            if r.status_code != 200:
                raise error_from(r, f"blob {desc.digest}")
            for _ in verified_stream(r, desc, f"blob in {ref.repository} ({why})"):
                pass
        finally:
            r.close()

    def has_blob(self, ref: Reference, desc: Descriptor, *, use_mirrors: bool = False) -> bool:
        """Upstream only by default: this is the push side's existence check."""
        def check(ep: _Endpoint) -> bool:
            if not self._head_blob(ep, ref, desc, _pull(ref)):
                raise NotFound(404, ("BLOB_UNKNOWN",), ep.host)
            return True
        try:
            return self._first(ref, use_mirrors, check)
        except NotFound:
            return False

    @contextmanager
    def open_blob(self, ref: Reference, desc: Descriptor, *, use_mirrors: bool = True) -> Iterator[Iterator[bytes]]:
        """Stream a blob in 1 MiB chunks; DigestMismatch when the stream ends wrong."""
        def start(ep: _Endpoint) -> httpx.Response:
            r = self._send("GET", ep, f"/v2/{ref.path}/blobs/{desc.digest}", scope=_pull(ref),
                           headers={"Accept-Encoding": "identity"}, stream=True)
            if r.status_code != 200:
                raise error_from(r, f"blob {desc.digest}")
            return r
        response = self._first(ref, use_mirrors, start)
        try:
            yield verified_stream(response, desc)
        finally:
            response.close()

    def upload_blob(self, ref: Reference, desc: Descriptor, opener: BlobOpener, mount_from: Reference | None = None,
                    *, chunked_threshold: int | None = None, chunk_size: int | None = None,
                    source_verified: bool = False) -> str:
        """``"exists"`` | ``"mounted"`` | ``"uploaded"``; see the package docstring for the anatomy.
        ``source_verified``: the opener's stream checks its own digest (every
        :class:`archport.store.Source` does), so it is not hashed twice."""
        chunking = push.Chunking(self.chunking.threshold if chunked_threshold is None else chunked_threshold,
                                 chunk_size or self.chunking.size)
        ep = self._endpoints(ref, False)[0]
        mount = mount_from if (mount_from is not None and mount_from.domain == ref.domain
                               and mount_from.path != ref.path) else None
        scope = merge_scopes(_push(ref), _pull(mount) if mount else ())
        if self._head_blob(ep, ref, desc, scope):
            self._read_back(ep, ref, desc)
            return "exists"

        def send(method: str, target: str | httpx.URL, **request) -> httpx.Response:
            return self._send(method, ep, target, scope=scope, **request)
        remote = push.Remote(send, lambda: self._head_blob(ep, ref, desc, scope),
                             lambda: self._read_back(ep, ref, desc, mounted=True))
        policy = push.Policy(chunking, not source_verified, self.retry, self._sleep)
        return push.upload(remote, policy, ref, desc, opener, mount)

    # -- tags ----------------------------------------------------------------
    def list_tags(self, ref: Reference, *, page_size: int | None = None) -> list[str]:
        """All tags, following ``Link: <…>; rel="next"`` pages."""
        def listing(ep: _Endpoint) -> list[str]:
            tags: list[str] = []
            target: str | httpx.URL = f"/v2/{ref.path}/tags/list"
            params = [("n", str(page_size))] if page_size else None
            seen = set()
            while True:
                r = self._send("GET", ep, target, scope=_pull(ref), params=params)
                if r.status_code != 200:
                    raise error_from(r, "listing tags")
                try:
                    doc = r.json()
                except ValueError:
                    raise RegistryError(200, (), safe_url(r.request.url), "tag list is not JSON") from None
                tags += [t for t in (doc.get("tags") or []) if isinstance(t, str)]
                m = _LINK_NEXT.search(r.headers.get("link", ""))
                if not m:
                    return tags
                target = r.request.url.join(m.group(1))
                if str(target) in seen:
                    return tags
                seen.add(str(target))
                params = None
        return self._first(ref, True, listing)


def _pull(ref: Reference) -> tuple[str, ...]:
    return (repository_scope(ref.path, "pull"),)


def _push(ref: Reference) -> tuple[str, ...]:
    return (repository_scope(ref.path, "pull,push"),)


def _log_response(response: httpx.Response) -> None:
    # Method, URL without userinfo or query, status.  Never headers or bodies.
    log.debug("%s %s -> %d", response.request.method, safe_url(response.request.url), response.status_code)
