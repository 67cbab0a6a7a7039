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
receives a complete wrong blob.

Auth flow (:mod:`.auth`): a request goes out; on ``401`` with
``WWW-Authenticate: Bearer realm,service,scope`` a token is fetched from the
realm — anonymously, with Basic credentials, or by OAuth2 POST with an
identity token — cached per scope, and the request is replayed.  Pushes ask
for ``repository:<dst>:pull,push``; a cross-repository mount adds
``repository:<src>:pull`` to the same token.  ``Basic`` challenges are
answered directly.  Credentials come from :mod:`.credentials`.

Transport policy (:mod:`.hosts`, :mod:`.retry`): HTTPS with verification
always; plain HTTP for loopback (after HTTPS is answered in plain HTTP) and
for hosts named with ``--plain-http``.  Retries with jittered exponential
backoff on 5xx, 429 (honouring Retry-After) and connection errors.  Pull
mirrors are tried in order, ``?ns=<domain>`` added as containerd does, before
the upstream; pushes never go to mirrors.

Logging (``archport.registry``, DEBUG): method, URL without userinfo or
query, status, retry decisions — never headers, tokens or bodies.
"""

from .client import Client
from .credentials import Credential, Credentials, load_credentials
from .hosts import HostOptions
from .retry import RetryPolicy
from .store import RegistrySink, RegistrySource

__all__ = ["Client", "Credential", "Credentials", "load_credentials", "HostOptions", "RetryPolicy",
           "RegistrySink", "RegistrySource"]
