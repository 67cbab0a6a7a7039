"""The error tree.  The CLI maps each branch to an exit code in one place.

Every class archport raises on purpose is in this tree, wherever it is
defined: the top ones here, the others next to the code that raises them.
tests/test_errors.py checks that this drawing names them all and that none
derives from a bare ``Exception``, which the CLI could only report as
"internal error"::

    ArchportError                 operation failed                     -> exit 1
    ├── BadInput                  the user's input is wrong            -> exit 2
    │   ├── BadReference          malformed image reference
    │   ├── UnknownTransport      ``foo:...`` we do not know
    │   └── UnsupportedMediaType  a manifest we cannot interpret
    ├── Unreachable               a board could not be reached over SSH, or is not a k3s node (remote)
    ├── DigestMismatch            bytes do not match the digest that names them
    ├── RegistryError             the registry said no (status, spec codes, url)
    │   ├── Unauthorized          401 / 403
    │   ├── NotFound              404, or MANIFEST_UNKNOWN / BLOB_UNKNOWN
    │   └── RateLimited           429 / TOOMANYREQUESTS
    ├── FetchError                a network source could not give what was asked (the one branch for them)
    │   ├── TransportError        could not talk to the registry or server at all, or refused to (policy)
    │   │   ├── HostUnreachable   its host name does not resolve here (not retried; remembered per host)
    │   │   ├── Refused           nothing listens on its port (asked again for a few seconds; registry.errors)
    │   │   └── Stalled           no progress for the stall deadline, --stall-timeout (registry.errors)
    │   ├── MirrorFailed          a --mirror lacks the image or cannot be reached (what it answered, not upstream)
    │   ├── DownloadError         a release asset's server answered without the file
    │   ├── DebianError           the Debian archive could not give a verified file
    │   ├── AlpineError           an Alpine mirror could not give a verified index or package
    │   ├── ModuleUnavailable     the Go module proxy could not give a module
    │   ├── NotPublished          a k3s release publishes no image list there, 404 (fetch.k3sreleases)
    │   └── ListUnreadable        a k3s release's image list could not be read (fetch.k3sreleases)
    ├── MissingDependency         an optional module this operation needs is not installed
    ├── BadImageList              a file served as a k3s release's image list is not one (catalog.releases)
    ├── BadSignature              a provenance signature does not verify with the key given (attest.sign)
    ├── _Budget                   internal to catalog update (fetch.k3sreleases): its request budget ran out
    ├── _StaleToken               internal to a blob upload (registry.push): a token expired mid-upload
    ├── Cancelled                 a transfer stopped because another failed
    ├── PlatformMissing           the source offers none of the platforms asked for
    ├── PlatformPresent           the index already has that platform
    ├── TagExists                 a tag would move and --overwrite was not given
    ├── CatalogError              archport's own catalog data is malformed
    ├── RecipeError               a catalog smoke recipe is malformed (the loader reports a CatalogError)
    ├── NotPortable               a strategy that applied could not finish
    │   └── MirrorUnreachable     transplant's Alpine mirror did not answer: the next base may be tried
    ├── ChecksumMismatch          a file in a package is not what the package says (transplant.members)
    ├── KernelError               the archive's kernel lacks the image or a module a smoke asks for
    ├── PathError                 a path inside an image does not resolve (ENOENT, ELOOP, …)
    ├── TooLarge                  a layer expands beyond the cap it was given
    ├── ContainerdError           containerd could not start, or ctr failed
    ├── EmulationError            binfmt_misc could not be set up
    ├── Unconfined                untrusted code cannot be confined here, so it is not run
    └── _Failed                   internal to deploy: one step failed, rolled back

Messages never contain credentials: errors carry URLs without userinfo and
never the Authorization header, and every message passes through
:func:`archport.redaction.redact` on its way out (:meth:`ArchportError.__str__`),
so text a registry or a node sent us cannot carry a secret to the screen.
"""

from __future__ import annotations

from .redaction import redact


class ArchportError(Exception):
    """Base of everything archport raises on purpose."""

    def __str__(self) -> str:
        return redact(super().__str__())


class BadInput(ArchportError):
    """The user's input is wrong; the CLI exits 2."""


class BadReference(BadInput):
    pass


class UnknownTransport(BadInput):
    pass


class UnsupportedMediaType(BadInput):
    pass


class DigestMismatch(ArchportError):
    def __init__(self, expected: str, actual: str, what: str = "blob") -> None:
        super().__init__(f"{what} digest mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


class MissingDependency(ArchportError):
    """An optional module this operation needs is not installed (the message says how)."""


class NotPortable(ArchportError):
    """A strategy that applied could not finish (a build for the target failed
    in it, or in the toolchain it runs); ``reason`` and ``next_step`` are shown
    to the user (the compiler's error, fixups tried, what to try)."""

    def __init__(self, reason: str, next_step: str = "") -> None:
        super().__init__(reason)
        self.reason, self.next_step = reason, next_step


class FetchError(ArchportError):
    """A network source (a registry, a release server, a Debian or Alpine
    archive, the Go module proxy) could not give what was asked: no answer,
    or an answer without the verified bytes.  A caller that only needs to
    know "the network let us down" catches this one class."""


class TransportError(FetchError):
    """Connection refused, reset, timed out: the request never got an answer."""


class HostUnreachable(TransportError):
    """A registry host whose name does not resolve from this machine.  Not a
    transient failure: the client remembers the host and every later request
    to it fails at once with this same error.  ``next_step`` says what would
    get the images anyway (a mirror, an ``oci:`` copy, another machine)."""

    def __init__(self, message: str, host: str, domain: str, next_step: str = "") -> None:
        super().__init__(message)
        self.host, self.domain, self.next_step = host, domain, next_step


class MirrorFailed(FetchError):
    """The registry's ``--mirror`` hosts could not give the image (they lack
    it, or cannot be reached), and upstream was not asked or failed too: the
    mirror is the cause the user can act on.  ``next_step`` says how."""

    def __init__(self, message: str, next_step: str = "") -> None:
        super().__init__(message)
        self.next_step = next_step


class RegistryError(ArchportError):
    """A registry answered with an error (distribution-spec error codes)."""

    def __init__(self, status: int, codes: tuple[str, ...] = (), url: str = "", detail: str = "") -> None:
        self.status = status
        self.codes = tuple(codes)
        self.url = url
        self.detail = detail = redact(detail)
        parts = [f"HTTP {status}"]
        if codes:
            parts.append(",".join(codes))
        if detail:
            parts.append(detail)
        msg = " ".join(parts)
        super().__init__(f"{msg} ({url})" if url else msg)

    @property
    def temporary(self) -> bool:
        """Worth retrying: 5xx and 429 (spec: TOOMANYREQUESTS)."""
        return self.status >= 500 or self.status == 429


class Unauthorized(RegistryError):
    pass


class NotFound(RegistryError):
    pass


class RateLimited(RegistryError):
    def __init__(self, *args, retry_after: float | None = None, **kw) -> None:
        super().__init__(*args, **kw)
        self.retry_after = retry_after
