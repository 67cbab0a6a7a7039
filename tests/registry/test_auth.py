"""The auth flow, driven by hand: no network, responses made up."""

import base64
import threading

import httpx
import pytest

from archport.errors import Unauthorized
from archport.registry.auth import (DOMAIN, SCOPE, RegistryAuth, TokenCache, merge_scopes, parse_challenges)
from archport.registry.credentials import Credentials
from archport.registry.hosts import HostOptions

REALM = "https://auth.example.test/token"
BEARER = f'Bearer realm="{REALM}",service="reg.example.test",scope="repository:a/b:pull"'


def req(path="/v2/a/b/manifests/v1", scope=("repository:a/b:pull",), method="GET", **kw):
    return httpx.Request(method, f"https://reg.example.test{path}",
                         extensions={SCOPE: scope, DOMAIN: "reg.example.test"}, **kw)


def auth(creds=None):
    return RegistryAuth(creds, HostOptions().allows_plain_http)


def token_response(request, token="t1", key="token", expires_in=300):
    return httpx.Response(200, json={key: token, "expires_in": expires_in}, request=request)


def test_parse_challenges_quoted_commas_and_several():
    cs = parse_challenges('Bearer realm="https://a.test/t",service="s",scope="repository:x:pull,push repository:y:pull", Basic realm="r"')
    assert [c.scheme for c in cs] == ["bearer", "basic"]
    assert cs[0].realm == "https://a.test/t" and cs[0].service == "s"
    assert cs[0].scopes == ("repository:x:pull,push", "repository:y:pull")
    assert cs[1].params["realm"] == "r"
    assert parse_challenges("") == []
    assert parse_challenges('Basic realm="with \\"quote\\""')[0].realm == 'with "quote"'


def test_merge_scopes_unions_actions_per_repository():
    assert merge_scopes(("repository:a:pull",), ("repository:a:push", "repository:b:pull")) == \
        ("repository:a:pull,push", "repository:b:pull")


def test_anonymous_bearer_flow_then_cached():
    a = auth()
    r0 = req()
    flow = a.sync_auth_flow(r0)
    r1 = next(flow)
    assert "Authorization" not in r1.headers
    tok_req = flow.send(httpx.Response(401, headers={"WWW-Authenticate": BEARER}, request=r1))
    assert tok_req.url.host == "auth.example.test" and tok_req.method == "GET"
    assert tok_req.url.params.get_list("scope") == ["repository:a/b:pull"]
    assert tok_req.url.params["service"] == "reg.example.test"
    assert "Authorization" not in tok_req.headers
    retried = flow.send(token_response(tok_req))
    assert retried.headers["Authorization"] == "Bearer t1"
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(200, request=retried))
    # Second request for the same scope: token up front, no 401 round trip.
    flow = a.sync_auth_flow(req())
    r = next(flow)
    assert r.headers["Authorization"] == "Bearer t1"
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(200, request=r))


def test_new_scope_fetches_token_before_sending_and_push_token_serves_pull():
    a = auth()
    flow = a.sync_auth_flow(req())
    r1 = next(flow)
    tok = flow.send(httpx.Response(401, headers={"WWW-Authenticate": BEARER}, request=r1))
    flow.send(token_response(tok, "pull-token"))
    # push scope on a known host: the token request comes first
    flow = a.sync_auth_flow(req(scope=("repository:a/b:pull,push",), method="POST", path="/v2/a/b/blobs/uploads/"))
    first = next(flow)
    assert first.url.host == "auth.example.test"
    assert first.url.params.get_list("scope") == ["repository:a/b:pull,push"]
    r = flow.send(token_response(first, "push-token"))
    assert r.headers["Authorization"] == "Bearer push-token"
    # a later pull is served by the push token (a superset) or the pull token
    flow = a.sync_auth_flow(req())
    assert next(flow).headers["Authorization"] in ("Bearer pull-token", "Bearer push-token")


def test_credentialed_token_request_uses_basic_and_account():
    a = auth(Credentials.static({"reg.example.test": ("alice", "s3cret")}))
    flow = a.sync_auth_flow(req())
    r1 = next(flow)
    tok = flow.send(httpx.Response(401, headers={"WWW-Authenticate": BEARER}, request=r1))
    assert tok.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert tok.url.params["account"] == "alice"
    r = flow.send(token_response(tok, "tk", key="access_token"))
    assert r.headers["Authorization"] == "Bearer tk"


def test_identity_token_uses_oauth2_post():
    a = auth(Credentials.static({"reg.example.test": ("<token>", "refresh-me")}))
    flow = a.sync_auth_flow(req(scope=("repository:a/b:pull,push", "repository:c:pull")))
    r1 = next(flow)
    tok = flow.send(httpx.Response(401, headers={"WWW-Authenticate": BEARER}, request=r1))
    assert tok.method == "POST" and "Authorization" not in tok.headers
    form = dict(x.split("=", 1) for x in tok.read().decode().split("&"))
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == "refresh-me"
    assert form["scope"] == "repository%3Aa%2Fb%3Apull%2Cpush+repository%3Ac%3Apull"
    r = flow.send(token_response(tok, "oauth", key="access_token"))
    assert r.headers["Authorization"] == "Bearer oauth"


def test_refused_token_raises_unauthorized_without_secrets():
    a = auth(Credentials.static({"reg.example.test": ("alice", "s3cret")}))
    flow = a.sync_auth_flow(req())
    r1 = next(flow)
    tok = flow.send(httpx.Response(401, headers={"WWW-Authenticate": BEARER}, request=r1))
    with pytest.raises(Unauthorized) as e:
        flow.send(httpx.Response(401, json={"details": "s3cret"}, request=tok))
    assert "s3cret" not in str(e.value) and "alice" not in str(e.value)


def test_basic_challenge_then_preemptive():
    a = auth(Credentials.static({"reg.example.test": ("bob", "pw")}))
    flow = a.sync_auth_flow(req())
    r1 = next(flow)
    r2 = flow.send(httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'}, request=r1))
    assert r2.headers["Authorization"].startswith("Basic ")
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(200, request=r2))
    r = next(a.sync_auth_flow(req()))
    assert r.headers["Authorization"].startswith("Basic ")


def test_no_credentials_basic_gives_back_the_401():
    flow = auth().sync_auth_flow(req())
    r1 = next(flow)
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'}, request=r1))


def test_streamed_body_is_not_replayed_after_401():
    a = auth()
    streamed = req(method="PUT", content=iter([b"abc"]))
    flow = a.sync_auth_flow(streamed)
    r1 = next(flow)
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(401, headers={"WWW-Authenticate": BEARER}, request=r1))


def test_plain_http_realm_refused_for_remote_hosts():
    a = auth(Credentials.static({"reg.example.test": ("alice", "s3cret")}))
    flow = a.sync_auth_flow(req())
    r1 = next(flow)
    with pytest.raises(Unauthorized, match="not HTTPS"):
        flow.send(httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="http://auth.example.test/t",service="s"'}, request=r1))


def test_token_cache_expiry_and_threads():
    now = [1000.0]
    c = TokenCache(clock=lambda: now[0])
    c.put("r", "s", ("repository:a:pull",), "tok", 60)
    assert c.get("r", "s", ("repository:a:pull",)) == "tok"
    assert c.get("r", "s", ("repository:a:pull,push",)) is None
    assert c.get("r", "other", ("repository:a:pull",)) is None
    now[0] += 59
    assert c.get("r", "s", ("repository:a:pull",)) is None   # renewed before it expires

    def work(i):
        for j in range(200):
            c.put("r", "s", (f"repository:r{i}:pull",), f"t{i}", 300)
            assert c.get("r", "s", (f"repository:r{i}:pull",)) == f"t{i}"
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
