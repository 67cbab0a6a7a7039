"""Retry decisions with httpx.MockTransport: 429/Retry-After, 5xx, connection errors."""

import email.utils
import ssl

import httpx
import pytest

from archport.errors import RateLimited, RegistryError, TransportError
from archport.reference import parse
from archport.registry import Client, HostOptions, RetryPolicy
from archport.registry.retry import delay_for_status, parse_retry_after, retryable_exception

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=5.0, jitter=0.0)
REF = parse("reg.example.test/team/app:v1")
MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:' + b"0" * 64 + b'","size":2},"layers":[]}'


def client_with(handler, policy=FAST):
    sleeps = []
    c = Client(HostOptions(), None, retry=policy, transport=httpx.MockTransport(handler), sleep=sleeps.append)
    return c, sleeps


def ok_manifest(request):
    return httpx.Response(200, content=MANIFEST, headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})


def test_parse_retry_after_seconds_and_date():
    assert parse_retry_after("7") == 7.0
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 12, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(12, abs=1)
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None


def test_backoff_grows_and_is_capped():
    p = RetryPolicy(attempts=10, base_delay=1, max_delay=8, jitter=0)
    assert [p.backoff(n) for n in range(1, 6)] == [1, 2, 4, 8, 8]
    j = RetryPolicy(base_delay=1, max_delay=100, jitter=0.5)
    assert 0.5 <= j.backoff(1, rand=lambda: 0.0) <= 1.5 and j.backoff(1, rand=lambda: 1.0) == 1.5


def test_delay_decisions():
    assert delay_for_status(FAST, 1, 404, {}) is None
    assert delay_for_status(FAST, 1, 501, {}) is None
    assert delay_for_status(FAST, 1, 503, {}) == pytest.approx(0.01)
    assert delay_for_status(FAST, 1, 429, {"retry-after": "3"}) == 3
    assert delay_for_status(FAST, 1, 429, {"retry-after": "60"}) is None     # longer than max_delay
    assert delay_for_status(FAST, 4, 503, {}) is None                         # attempts used up


def test_429_with_retry_after_is_honoured():
    calls = []

    def handler(request):
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "2"})
        return ok_manifest(request)
    c, sleeps = client_with(handler)
    assert c.get_manifest(REF).media_type.endswith("manifest.v1+json")
    assert sleeps == [2.0] and len(calls) == 2


def test_5xx_retried_then_success():
    n = iter([502, 503, 200])

    def handler(request):
        s = next(n)
        return ok_manifest(request) if s == 200 else httpx.Response(s)
    c, sleeps = client_with(handler)
    c.get_manifest(REF)
    assert sleeps == [pytest.approx(0.01), pytest.approx(0.02)]


def test_5xx_exhausted_is_a_structured_error():
    def handler(request):
        return httpx.Response(503, json={"errors": [{"code": "UNAVAILABLE", "message": "busy"}]})
    c, sleeps = client_with(handler)
    with pytest.raises(RegistryError) as e:
        c.get_manifest(REF)
    assert e.value.status == 503 and e.value.codes == ("UNAVAILABLE",) and e.value.temporary
    assert len(sleeps) == FAST.attempts - 1


def test_429_too_long_gives_rate_limited_with_retry_after():
    c, sleeps = client_with(lambda r: httpx.Response(429, headers={"Retry-After": "3600"},
                                                     json={"errors": [{"code": "TOOMANYREQUESTS"}]}))
    with pytest.raises(RateLimited) as e:
        c.get_manifest(REF)
    assert e.value.retry_after == 3600 and sleeps == []


def test_connection_errors_retried():
    n = [0]

    def handler(request):
        n[0] += 1
        if n[0] < 3:
            raise httpx.ConnectError("connection refused", request=request)
        return ok_manifest(request)
    c, sleeps = client_with(handler)
    c.get_manifest(REF)
    assert n[0] == 3 and len(sleeps) == 2


def test_connection_errors_exhausted_become_transport_error():
    def handler(request):
        raise httpx.ReadError("reset", request=request)
    c, _ = client_with(handler)
    with pytest.raises(TransportError, match="reg.example.test/v2/team/app/manifests/v1"):
        c.get_manifest(REF)


def test_certificate_errors_never_retried():
    n = [0]

    def handler(request):
        n[0] += 1
        try:
            raise ssl.SSLCertVerificationError("certificate verify failed")
        except ssl.SSLError as e:
            raise httpx.ConnectError("tls", request=request) from e
    c, sleeps = client_with(handler)
    with pytest.raises(TransportError, match="--ca-file"):
        c.get_manifest(REF)
    assert n[0] == 1 and sleeps == []
    assert not retryable_exception(httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] x"))


def test_4xx_not_retried():
    n = [0]

    def handler(request):
        n[0] += 1
        return httpx.Response(400, json={"errors": [{"code": "MANIFEST_INVALID", "message": "bad"}]})
    c, _ = client_with(handler)
    with pytest.raises(RegistryError) as e:
        c.get_manifest(REF)
    assert n[0] == 1 and e.value.codes == ("MANIFEST_INVALID",)


def test_streamed_body_not_retried_by_transport():
    from archport.oci import Descriptor, Digest
    from contextlib import contextmanager
    data = b"x" * 100
    desc = Descriptor("application/octet-stream", Digest.of(data), len(data))
    puts = []

    def handler(request):
        if request.method == "HEAD":
            return httpx.Response(404)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": f"/v2/team/app/blobs/uploads/u{len(puts)}"})
        request.read()
        puts.append(request.url.path)
        return httpx.Response(500) if len(puts) == 1 else httpx.Response(201)

    @contextmanager
    def opener():
        yield iter([data])
    c, _ = client_with(handler)
    assert c.upload_blob(REF, desc, opener) == "uploaded"
    # one PUT per session: the failed one was not replayed, a fresh session was used
    assert puts == ["/v2/team/app/blobs/uploads/u0", "/v2/team/app/blobs/uploads/u1"]


def test_a_refused_connection_is_asked_again_for_about_two_seconds_only():
    """Nothing listens: a short schedule of its own (0.25 + 0.5 + 1 s), not the
    full backoff, and the upload session above it does not start over."""
    from archport.registry.errors import Refused
    n = [0]

    def handler(request):
        n[0] += 1
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as e:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request) from e
    c, sleeps = client_with(handler, RetryPolicy())          # the default policy
    with pytest.raises(Refused, match="connection refused: nothing listens on reg.example.test"):
        c.get_manifest(REF)
    assert n[0] == 4 and sleeps == [0.25, 0.5, 1.0]


def test_a_stall_is_not_retried():
    from archport.registry.errors import Stalled
    n = [0]

    def handler(request):
        n[0] += 1
        raise httpx.ReadTimeout("timed out", request=request)
    c, sleeps = client_with(handler)
    with pytest.raises(Stalled):
        c.get_manifest(REF)
    assert n[0] == 1 and sleeps == []
