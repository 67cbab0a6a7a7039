"""Pull mirrors: tried in order with ?ns=<domain>, then upstream; pushes never go there."""

import httpx
import pytest

from archport.errors import NotFound
from archport.reference import parse
from archport.registry import Client, HostOptions, RegistrySink, RetryPolicy
from tests.registry.test_retry import MANIFEST

MT = "application/vnd.oci.image.manifest.v1+json"


def make(handler, mirrors):
    opts = HostOptions(mirrors={"reg.example.test": mirrors}, plain_http=frozenset({"mirror1.test", "mirror2.test"}))
    return Client(opts, None, retry=RetryPolicy(attempts=1), transport=httpx.MockTransport(handler), sleep=lambda s: None)


def test_mirrors_in_order_with_ns_then_upstream():
    seen = []

    def handler(request):
        seen.append((request.method, request.url.scheme, request.url.host, request.url.params.get("ns")))
        if request.url.host == "mirror1.test":
            raise httpx.ConnectError("down", request=request)
        if request.url.host == "mirror2.test":
            return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN"}]})
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": MT})
    c = make(handler, ("mirror1.test", "mirror2.test"))
    m = c.get_manifest(parse("reg.example.test/team/app:v1"))
    assert m.media_type == MT
    assert seen == [("GET", "http", "mirror1.test", "reg.example.test"),
                    ("GET", "http", "mirror2.test", "reg.example.test"),
                    ("GET", "https", "reg.example.test", None)]


def test_mirror_answer_is_used_and_upstream_untouched():
    hosts = []

    def handler(request):
        hosts.append(request.url.host)
        assert request.url.path == "/v2/team/app/manifests/v1"
        return httpx.Response(200, content=MANIFEST, headers={"Content-Type": MT})
    make(handler, ("mirror1.test",)).get_manifest(parse("reg.example.test/team/app:v1"))
    assert hosts == ["mirror1.test"]


def test_pushes_and_sink_checks_never_use_mirrors():
    hosts = []

    def handler(request):
        hosts.append((request.method, request.url.host))
        if request.method == "HEAD":
            return httpx.Response(404)
        return httpx.Response(201, headers={"Docker-Content-Digest": "sha256:" + __import__("hashlib").sha256(MANIFEST).hexdigest()})
    from archport.oci import parse_manifest
    c = make(handler, ("mirror1.test",))
    ref = parse("reg.example.test/team/app:v1")
    m = parse_manifest(MANIFEST, MT)
    sink = RegistrySink(c, ref)
    assert not sink.has_manifest(m.descriptor())
    assert not sink.has_blob(m.config)
    sink.put_manifest(m)
    sink.tag(m, None)
    assert all(h == "reg.example.test" for _, h in hosts), hosts


def test_all_missing_is_not_found_and_head_is_none():
    c = make(lambda r: httpx.Response(404), ("mirror1.test",))
    ref = parse("reg.example.test/team/app:v1")
    with pytest.raises(NotFound):
        c.get_manifest(ref)
    assert c.head_manifest(ref) is None


def test_mirror_only_never_asks_upstream():
    seen = []

    def handler(request):
        seen.append(request.url.host)
        return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN"}]})
    opts = HostOptions(mirrors={"reg.example.test": ("mirror1.test",)}, plain_http=frozenset({"mirror1.test"}),
                       mirror_only=True)
    c = Client(opts, None, retry=RetryPolicy(attempts=1), transport=httpx.MockTransport(handler), sleep=lambda s: None)
    with pytest.raises(NotFound):
        c.get_manifest(parse("reg.example.test/team/app:v1"))
    assert seen == ["mirror1.test"]
