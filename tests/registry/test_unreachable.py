"""A registry host whose name does not resolve: not retried, remembered per
client, and said in plain words with what would help."""

import socket
import time

import httpx
import pytest

from archport.errors import HostUnreachable, TransportError
from archport.reference import parse
from archport.registry import Client, HostOptions, RetryPolicy
from archport.registry.retry import is_name_resolution_failure, retryable_exception

FAST = RetryPolicy(attempts=5, base_delay=0.01, max_delay=1.0, jitter=0.0)


def _unresolved(request: httpx.Request) -> httpx.ConnectError:
    """What httpx raises for a name getaddrinfo cannot resolve (chain kept)."""
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as g:
            raise httpx.ConnectError(str(g), request=request) from g
    except httpx.ConnectError as e:
        return e


def test_a_name_that_does_not_resolve_is_not_transient():
    e = _unresolved(httpx.Request("GET", "https://nowhere.invalid/v2/"))
    assert is_name_resolution_failure(e) and not retryable_exception(e)
    # the words alone (a chain lost on the way) are enough too
    assert is_name_resolution_failure(httpx.ConnectError("[Errno -3] Temporary failure in name resolution"))
    # a refused connection still is transient
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    assert not is_name_resolution_failure(refused) and retryable_exception(refused)


def test_one_failure_per_host_then_every_image_fails_at_once_with_the_same_words():
    calls, sleeps = [], []

    def handler(request):
        calls.append(str(request.url))
        raise _unresolved(request)

    c = Client(HostOptions(), None, retry=FAST, transport=httpx.MockTransport(handler), sleep=sleeps.append)
    with pytest.raises(HostUnreachable) as first:
        c.get_manifest(parse("reg.invalid/team/a:1"))
    assert len(calls) == 1 and sleeps == []          # asked once, never retried
    for image in ("reg.invalid/team/b:1", "reg.invalid/other/c:2"):
        with pytest.raises(HostUnreachable) as later:
            c.get_manifest(parse(image))
        assert str(later.value) == str(first.value)
    assert len(calls) == 1                           # the later images never reached the network
    e = first.value
    assert isinstance(e, TransportError) and e.host == "reg.invalid" and e.domain == "reg.invalid"
    assert "cannot reach registry reg.invalid" in str(e) and "Errno" not in str(e)
    assert "--mirror reg.invalid=HOST" in e.next_step and "oci:" in e.next_step


def test_a_mirror_that_does_not_resolve_is_skipped_for_the_upstream_and_named_as_a_mirror():
    calls = []
    manifest = (b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":'
                b'{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:' + b"0" * 64 +
                b'","size":2},"layers":[]}')

    def handler(request):
        calls.append(request.url.host)
        if request.url.host == "mirror.invalid":
            raise _unresolved(request)
        return httpx.Response(200, content=manifest,
                              headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})

    opts = HostOptions(mirrors={"reg.example.test": ("mirror.invalid",)})
    c = Client(opts, None, retry=FAST, transport=httpx.MockTransport(handler), sleep=lambda s: None)
    c.get_manifest(parse("reg.example.test/a:1"))
    c.get_manifest(parse("reg.example.test/b:1"))
    assert calls == ["mirror.invalid", "reg.example.test", "reg.example.test"]
    gone = c.unreachable("mirror.invalid")
    assert gone is not None and "mirror mirror.invalid" in str(gone) and "--mirror" in gone.next_step


def test_a_real_unresolvable_name_fails_within_a_second_or_two():
    """.invalid never resolves (RFC 6761 §6.4): the real resolver, no retries."""
    with Client(HostOptions()) as c:
        t = time.monotonic()
        with pytest.raises(HostUnreachable):
            c.get_manifest(parse("registry.invalid/team/app:1"))
        with pytest.raises(HostUnreachable):
            c.get_manifest(parse("registry.invalid/team/other:1"))
        assert time.monotonic() - t < 5
