"""The distribution-API client (OCI distribution-spec), over httpx.

Anatomy of an upload (what :class:`RegistrySink` and ``copy`` do, in order)::

    for each blob (config, layers):
        HEAD /v2/<dst>/blobs/<digest>                 200 → "exists", done
        POST /v2/<dst>/blobs/uploads/?mount=<digest>&from=<src>
                                                      201 → "mounted" (same registry)
                                                      202 → Location: an upload session
        POST /v2/<dst>/blobs/uploads/                 202 → Location (no mount source)
        PUT  <Location>?digest=<digest>   body        201 "uploaded"   (size < threshold)
      or PATCH <Location>  Content-Range a-b  body    202 → next Location, repeated
         PUT  <Location>?digest=<digest>              201 "uploaded"   (chunked)
      on a failure: HEAD again (did it land?), else a *fresh* session.
    PUT /v2/<dst>/manifests/<digest>   child manifests, then the index, raw bytes
    PUT /v2/<dst>/manifests/<tag>      last: a tag never names an incomplete image

Bodies are streamed from a :data:`~archport.store.BlobOpener` and hashed on the
way; the last piece is held back until the digest checks, so a registry never
receives a complete wrong blob.  A blob that "exists" or was "mounted" never
passed through us: the HEAD's digest and size must be the descriptor's.  A
blob we mounted is then read back and hashed (``verify_mounts``, on unless
``--no-verify-blobs``): a registry keeps a blob under its digest without
re-hashing it, so a damaged one would be linked into the new repository
unseen.  With ``verify_blobs`` (``--verify-blobs``, on for port) a blob that
already "exists" is read back too.

Timeouts are a stall deadline (:func:`.client.stall_deadline`): no progress
for N seconds fails the transfer, and a refused connection is asked again
for only about two seconds (:mod:`.retry`).

Integrity of what is read: a manifest fetched by digest must hash to it; one
fetched by tag must hash to the ``Docker-Content-Digest`` the registry sent
with it (distribution-spec, "Pulling manifests"); every blob stream is
hashed and checked when it ends.

Auth flow (:mod:`.auth`): a request goes out; on ``401`` with
``WWW-Authenticate: Bearer realm,service,scope`` a token is fetched from the
realm — anonymously, with Basic credentials, or by OAuth2 POST with an
identity token — cached per scope, and the request is replayed.  Pushes ask
for ``repository:<dst>:pull,push``; a cross-repository mount adds
``repository:<src>:pull`` to the same token.  ``Basic`` challenges are
answered directly.  Credentials come from :mod:`.credentials`.

Transport policy (:mod:`.hosts`, :mod:`.retry`): HTTPS with verification
always; plain HTTP for loopback (after HTTPS is answered in plain HTTP) and
for hosts named with ``--plain-http``, enforced by the outermost transport
for every request, redirects included (an HTTPS answer redirecting to
``http://`` is refused).  httpx drops the Authorization header when a
redirect leaves the origin, so credentials reach only the registry they
belong to (tests/registry/test_redirects.py keeps both true).  Retries with jittered exponential
backoff on 5xx, 429 (honouring Retry-After) and connection errors; never on
a host name that does not resolve, which the client remembers for the run
(:class:`~archport.errors.HostUnreachable`: every later request to that host
fails at once, with the same words and the same next step).  Pull
mirrors are tried in order, ``?ns=<domain>`` added as containerd does, before
the upstream; pushes never go to mirrors.

Logging (``archport.registry``, DEBUG): method, URL without userinfo or
query, status, retry decisions — never headers, tokens or bodies.
"""

from .client import Client, Transfer
from .credentials import Credential, Credentials, load_credentials
from .hosts import HostOptions
from .push import Chunking
from .retry import RetryPolicy
from .store import RegistrySink, RegistrySource

__all__ = ["Chunking", "Client", "Credential", "Credentials", "load_credentials", "HostOptions", "RetryPolicy",
           "RegistrySink", "RegistrySource", "Transfer"]
