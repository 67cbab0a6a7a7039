"""Redirects: never a downgrade to plain HTTP on a host not allowed it, and
never credentials sent to another host.  The registry is an in-process
transport (httpx.MockTransport): the host names here are not loopback, which
is what the policy is about, and no packet leaves the process."""

from __future__ import annotations

import json

import httpx
import pytest

from archport.errors import TransportError
from archport.oci import mediatypes as mt
from archport.reference import parse
from archport.registry import Client, Credentials, HostOptions, RetryPolicy

INDEX = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}).encode()


class Registry:
    """reg.example answers /v2/ and redirects manifest GETs to ``target``."""

    def __init__(self, target: str, basic: bool = False) -> None:
        self.target, self.basic = target, basic
        self.seen: list[tuple[str, str | None]] = []     # (url, Authorization)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((str(request.url), request.headers.get("authorization")))
        if request.url.host == "reg.example":
            if self.basic and "authorization" not in request.headers:
                return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="reg"'})
            if request.url.path == "/v2/":
                return httpx.Response(200)
            return httpx.Response(307, headers={"Location": self.target + request.url.path})
        return httpx.Response(200, content=INDEX, headers={"Content-Type": mt.OCI_INDEX})


def _client(handler, **options) -> Client:
    return Client(HostOptions(**options), Credentials.static({"reg.example": ("bob", "pw-not-for-cdn")}),
                  transport=httpx.MockTransport(handler), retry=RetryPolicy(attempts=1))


def test_https_redirected_to_plain_http_is_refused():
    reg = Registry("http://reg.example")
    with _client(reg) as c, pytest.raises(TransportError) as e:
        c.get_manifest(parse("reg.example/team/app:1"))
    assert "plain HTTP to reg.example is not allowed" in str(e.value)
    assert all(not u.startswith("http://") for u, _ in reg.seen)      # never sent


def test_redirect_to_another_plain_http_host_is_refused():
    reg = Registry("http://cdn.example:8080")
    with _client(reg) as c, pytest.raises(TransportError, match="cdn.example:8080"):
        c.get_manifest(parse("reg.example/team/app:1"))
    assert [u for u, _ in reg.seen if "cdn.example" in u] == []


def test_plain_http_named_by_the_user_may_be_redirected_to():
    reg = Registry("http://cdn.example:8080")
    with _client(reg, plain_http=frozenset({"cdn.example:8080"})) as c:
        assert c.get_manifest(parse("reg.example/team/app:1")).raw == INDEX


def test_credentials_are_not_sent_to_another_host_on_redirect():
    reg = Registry("https://cdn.example", basic=True)
    with _client(reg) as c:
        c.get_manifest(parse("reg.example/team/app:1"))
    to_reg = [a for u, a in reg.seen if u.startswith("https://reg.example/v2/team")]
    to_cdn = [a for u, a in reg.seen if "cdn.example" in u]
    assert to_reg[-1] and to_reg[-1].startswith("Basic ")      # the registry did get them
    assert to_cdn == [None]


def test_a_name_that_starts_with_127_is_not_loopback():
    """``127.evil.example`` resolves wherever its DNS says: it gets HTTPS
    (no plain-HTTP probe), and a redirect from HTTPS to it in plain HTTP is refused."""
    seen = []

    def handler(request):
        seen.append(str(request.url))
        return httpx.Response(200, content=INDEX, headers={"Content-Type": mt.OCI_INDEX})
    with _client(handler) as c:
        c.get_manifest(parse("127.evil.example:5000/team/app:1"))
    assert seen and all(u.startswith("https://127.evil.example:5000/") for u in seen)

    reg = Registry("http://127.evil.example")
    with _client(reg) as c, pytest.raises(TransportError, match="plain HTTP to 127.evil.example is not allowed"):
        c.get_manifest(parse("reg.example/team/app:1"))
    assert [u for u, _ in reg.seen if "127.evil" in u] == []
