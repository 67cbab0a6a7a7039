"""Retry decisions (pure) and the transport that applies them.

What is retried: 5xx answers except 501/505, 429 (spec code TOOMANYREQUESTS),
and connection-level failures (reset, closed early).  A refused connection
gets its own short schedule (``refused_attempts``, about two seconds in all):
nothing listens on that port, so a registry restarting is waited for briefly
and a dead one is reported at once, not after the full backoff.  A timeout
is never retried: the timeouts are the stall deadline (no progress for N
seconds, :class:`Stalled`), and asking again would only wait N more.  Never a TLS
certificate failure, never a host name that does not resolve (getaddrinfo
already asked the resolver, which retries on its own, resolv.conf(5)
``attempts``; an offline machine would only wait longer for the same
answer), never a 4xx, and never a request whose body is a stream
we cannot replay: a failed upload is retried one level up, in a fresh upload
session (:meth:`archport.registry.client.Client.upload_blob`).

``Retry-After`` (RFC 9110 §10.2.3) is honoured, in seconds or as an HTTP date;
a server asking for longer than ``max_delay`` is not waited for: the caller
gets :class:`~archport.errors.RateLimited` with ``retry_after`` set.
"""

from __future__ import annotations

import email.utils
import logging
import random
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Callable, Mapping

import httpx

log = logging.getLogger("archport.registry")

_NOT_TEMPORARY_5XX = {501, 505}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5          # total tries, the first included
    base_delay: float = 0.5    # seconds before the 2nd try; doubles each time
    max_delay: float = 30.0    # cap on one wait (and on an honoured Retry-After)
    jitter: float = 0.25       # ± fraction, so parallel copies do not retry in step
    # A refused connection: this many tries in all, waiting refused_delay,
    # then twice that, ... (0.25 + 0.5 + 1 = 1.75 s for the defaults).
    refused_attempts: int = 4
    refused_delay: float = 0.25

    def backoff(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Wait after the ``failures``-th failure (1-based): exponential, jittered, capped."""
        d = min(self.max_delay, self.base_delay * (2 ** max(0, failures - 1)))
        d *= 1.0 - self.jitter + 2.0 * self.jitter * rand()
        return max(0.0, min(self.max_delay, d))


def retryable_status(status: int) -> bool:
    return status == 429 or (status >= 500 and status not in _NOT_TEMPORARY_5XX)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def delay_for_status(policy: RetryPolicy, failures: int, status: int, headers: Mapping[str, str],
                     now: float | None = None) -> float | None:
    """How long to wait before retrying an answer, or None to give up on it."""
    if not retryable_status(status) or failures >= policy.attempts:
        return None
    after = parse_retry_after(headers.get("retry-after"), now)
    if after is not None:
        return after if after <= policy.max_delay else None
    return policy.backoff(failures)


def _chain(exc: BaseException):
    """``exc`` and its __cause__/__context__ chain (httpx wraps httpcore's
    error, which wraps the ssl or socket one)."""
    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def _in_chain(exc: BaseException, kind: type[BaseException]) -> bool:
    """Anything in the chain is a ``kind`` (a CA mismatch may only show in the text)."""
    return any(isinstance(e, kind) for e in _chain(exc)) or "CERTIFICATE_VERIFY_FAILED" in str(exc)


def is_tls_failure(exc: BaseException) -> bool:
    """A TLS problem (certificate, protocol): retrying cannot help."""
    return _in_chain(exc, ssl.SSLError)


def is_certificate_failure(exc: BaseException) -> bool:
    return _in_chain(exc, ssl.SSLCertVerificationError)


# getaddrinfo's words when the exception chain was lost (glibc, musl, macOS, Windows).
_UNRESOLVED_TEXT = ("Name or service not known", "Temporary failure in name resolution",
                    "No address associated with hostname", "nodename nor servname provided",
                    "getaddrinfo failed", "Name does not resolve")


def is_name_resolution_failure(exc: BaseException) -> bool:
    """The host name did not resolve (socket.gaierror anywhere in the chain):
    no network, no DNS, or no such name.  Not worth a retry, and not worth
    asking again for the next image on the same host."""
    if any(isinstance(e, socket.gaierror) for e in _chain(exc)):
        return True
    return isinstance(exc, httpx.ConnectError) and any(t in str(exc) for t in _UNRESOLVED_TEXT)


_REFUSED_TEXT = ("Connection refused", "[Errno 111]", "[Errno 61]")   # Linux, macOS


def is_refused(exc: BaseException) -> bool:
    """The host answered the connection with RST: nothing listens on that port."""
    if any(isinstance(e, ConnectionRefusedError) for e in _chain(exc)):
        return True
    return isinstance(exc, httpx.ConnectError) and any(t in str(exc) for t in _REFUSED_TEXT)


def is_stall(exc: BaseException) -> bool:
    """A timeout: no progress within the stall deadline (connect, read or write)."""
    return isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.PoolTimeout)


def retryable_exception(exc: BaseException) -> bool:
    """Connection-level failures only; the classes are listed, not guessed."""
    if is_tls_failure(exc) or is_name_resolution_failure(exc) or is_stall(exc):
        return False
    return isinstance(exc, (httpx.ConnectError, httpx.ReadError, httpx.WriteError,
                            httpx.RemoteProtocolError))


def replayable(request: httpx.Request) -> bool:
    """True when the body is in memory (or absent), so sending it again is safe."""
    return isinstance(request.stream, httpx.ByteStream)


def _where(request: httpx.Request) -> str:
    u = request.url
    return f"{u.scheme}://{u.netloc.decode('ascii')}{u.path}"


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport: retries what :func:`delay_for_status` and
    :func:`retryable_exception` allow, for replayable requests only."""

    def __init__(self, inner: httpx.BaseTransport, policy: RetryPolicy,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._inner = inner
        self._policy = policy
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        failures = refused = 0
        # Decided before sending: a transport may buffer a streamed body as it
        # sends it, which must not make a one-shot stream look replayable.
        can_replay = replayable(request)
        while True:
            try:
                response = self._inner.handle_request(request)
            except httpx.TransportError as e:
                if is_refused(e):
                    # Nothing was sent, so even a streamed body may go again.
                    refused += 1
                    if refused >= self._policy.refused_attempts:
                        raise
                    delay = self._policy.refused_delay * 2 ** (refused - 1)
                    log.debug("retry %s %s: connection refused (%d/%d) in %.2fs", request.method,
                              _where(request), refused, self._policy.refused_attempts, delay)
                    self._sleep(delay)
                    continue
                failures += 1
                if not retryable_exception(e) or not can_replay or failures >= self._policy.attempts:
                    raise
                delay = self._policy.backoff(failures)
                log.debug("retry %s %s after %s (failure %d/%d) in %.2fs", request.method, _where(request),
                          type(e).__name__, failures, self._policy.attempts, delay)
                self._sleep(delay)
                continue
            if not retryable_status(response.status_code) or not can_replay:
                return response
            failures += 1
            delay = delay_for_status(self._policy, failures, response.status_code, response.headers)
            if delay is None:
                log.debug("giving up %s %s after HTTP %d (failure %d/%d)", request.method, _where(request),
                          response.status_code, failures, self._policy.attempts)
                return response
            response.close()
            log.debug("retry %s %s after HTTP %d (failure %d/%d) in %.2fs", request.method, _where(request),
                      response.status_code, failures, self._policy.attempts, delay)
            self._sleep(delay)

    def close(self) -> None:
        self._inner.close()
