"""The error tree.  The CLI maps each branch to an exit code in one place.

    ArchportError                 operation failed             -> exit 1
    ├── BadInput                  the user's input is wrong    -> exit 2
    │   ├── BadReference          malformed image reference
    │   ├── UnknownTransport      ``foo:...`` we do not know
    │   └── UnsupportedMediaType  a manifest we cannot interpret
    ├── DigestMismatch            bytes do not match the digest that names them
    ├── RegistryError             the registry said no (status, spec codes, url)
    │   ├── Unauthorized          401 / 403
    │   ├── NotFound              404, or MANIFEST_UNKNOWN / BLOB_UNKNOWN
    │   └── RateLimited           429 / TOOMANYREQUESTS
    └── TransportError            could not talk to the registry at all

Messages never contain credentials: errors carry URLs without userinfo and
never the Authorization header.
"""

from __future__ import annotations


class ArchportError(Exception):
    """Base of everything archport raises on purpose."""


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


class TransportError(ArchportError):
    """Connection refused, reset, timed out: the request never got an answer."""


class RegistryError(ArchportError):
    """A registry answered with an error (distribution-spec error codes)."""

    def __init__(self, status: int, codes: tuple[str, ...] = (), url: str = "", detail: str = "") -> None:
        self.status = status
        self.codes = tuple(codes)
        self.url = url
        self.detail = detail
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
