"""registries.yaml resolution: mirrors, rewrites, the default endpoint, the wildcard (pure, plain data)."""

import pytest

from archport.errors import BadInput
from archport.k3s import registries as R

MIRROR = "192.168.1.10:5000"


def endpoints(image, doc, version="v1.24.2+k3s1", disable_default=False):
    res = R.resolve(image, R.parse(doc), version, disable_default)
    return [(str(e.reference), e.default) for e in res.endpoints], res


def test_no_registries_yaml_pulls_from_the_images_own_registry():
    eps, _ = endpoints("rancher/mirrored-pause:3.6", None)
    assert eps == [("docker.io/rancher/mirrored-pause:3.6", True)]


def test_mirror_first_then_the_default_endpoint():
    doc = {"mirrors": {"docker.io": {"endpoint": [f"http://{MIRROR}", "https://mirror2.example.internal"]}}}
    eps, res = endpoints("rancher/mirrored-coredns-coredns:1.9.1", doc)
    assert eps == [(f"{MIRROR}/rancher/mirrored-coredns-coredns:1.9.1", False),
                   ("mirror2.example.internal/rancher/mirrored-coredns-coredns:1.9.1", False),
                   ("docker.io/rancher/mirrored-coredns-coredns:1.9.1", True)]
    assert res.endpoints[0].plain_http and not res.endpoints[1].plain_http
    assert res.endpoints[0].mirror == "docker.io"


def test_rewrite_applies_to_mirror_endpoints_only():
    # k3s docs, Rewrites: docker.io/rancher/coredns-coredns:1.6.3 pulled as
    # <mirror>/mirrorproject/rancher-images/coredns-coredns:1.6.3
    doc = {"mirrors": {"docker.io": {"endpoint": [f"https://{MIRROR}"],
                                     "rewrite": {"^rancher/(.*)": "mirrorproject/rancher-images/$1"}}}}
    eps, res = endpoints("rancher/coredns-coredns:1.6.3", doc)
    assert eps == [(f"{MIRROR}/mirrorproject/rancher-images/coredns-coredns:1.6.3", False),
                   ("docker.io/rancher/coredns-coredns:1.6.3", True)]
    assert res.endpoints[0].rewritten and not res.endpoints[1].rewritten


def test_rewrite_sees_the_library_prefix_of_official_images():
    doc = {"mirrors": {"docker.io": {"endpoint": [MIRROR], "rewrite": {"^library/(.*)": "hub/$1"}}}}
    eps, _ = endpoints("busybox:1.36", doc)
    assert eps[0] == (f"{MIRROR}/hub/busybox:1.36", False)


def test_rewrite_is_ignored_before_k3s_v1_21():
    doc = {"mirrors": {"docker.io": {"endpoint": [MIRROR], "rewrite": {"^rancher/(.*)": "p/$1"}}}}
    eps, res = endpoints("rancher/klipper-lb:v0.3.5", doc, version="v1.20.15+k3s1")
    assert eps[0] == (f"{MIRROR}/rancher/klipper-lb:v0.3.5", False)
    assert any("rewrite" in n for n in res.notes)


def test_go_replacement_syntax():
    rules = (("^rancher/(?P<rest>.*)", "${rest}-x/$1x/$$"),)
    # $1x is the group named "1x" in Go (absent: empty), ${rest} a named group, $$ a dollar
    assert R.rewrite("rancher/pause", rules) == "pause-x//$"
    assert R.rewrite("other/pause", rules) == "other/pause"


def test_system_default_registry_host_is_resolved_like_any_registry():
    doc = {"mirrors": {"registry.example.internal": {"endpoint": [f"http://{MIRROR}"]}}}
    eps, _ = endpoints("registry.example.internal/rancher/mirrored-pause:3.6", doc)
    assert eps == [(f"{MIRROR}/rancher/mirrored-pause:3.6", False),
                   ("registry.example.internal/rancher/mirrored-pause:3.6", True)]


def test_an_endpoint_that_is_the_registry_itself_is_the_default_one():
    doc = {"mirrors": {"registry.example.internal": {"endpoint": ["https://registry.example.internal"],
                                                     "rewrite": {"(.*)": "x/$1"}}}}
    eps, _ = endpoints("registry.example.internal/a/b:1", doc)
    assert eps == [("registry.example.internal/a/b:1", True)]      # no rewrite, no second default


def test_wildcard_mirror_needs_a_recent_k3s():
    doc = {"mirrors": {"*": {"endpoint": [MIRROR]}}}
    eps, _ = endpoints("other.example.internal/a/b:1", doc, version="v1.29.3+k3s1")
    assert eps[0] == (f"{MIRROR}/a/b:1", False)
    eps, res = endpoints("other.example.internal/a/b:1", doc, version="v1.24.2+k3s1")
    assert eps == [("other.example.internal/a/b:1", True)] and res.notes


def test_disable_default_registry_endpoint():
    doc = {"mirrors": {"docker.io": {"endpoint": [MIRROR]}}}
    eps, _ = endpoints("rancher/klipper-lb:v0.3.5", doc, version="v1.29.1+k3s1", disable_default=True)
    assert eps == [(f"{MIRROR}/rancher/klipper-lb:v0.3.5", False)]
    # too old a k3s for the flag: the default endpoint stays
    eps, _ = endpoints("rancher/klipper-lb:v0.3.5", doc, version="v1.24.2+k3s1", disable_default=True)
    assert eps[-1][1] is True
    # and it only concerns registries that have an entry
    eps, _ = endpoints("third.example.internal/a:1", doc, version="v1.29.1+k3s1", disable_default=True)
    assert eps == [("third.example.internal/a:1", True)]


@pytest.mark.parametrize("doc, msg", [
    (["not", "a", "map"], "expected a mapping"),
    ({"mirrors": ["docker.io"]}, "'mirrors' must be a mapping"),
    ({"mirrors": {"docker.io": {"endpoint": [1]}}}, "endpoint must be a list of URLs"),
    ({"mirrors": {"docker.io": {"endpoint": [MIRROR], "rewrite": {"(": "x"}}}}, "rewrite"),
])
def test_bad_registries_yaml_is_bad_input(doc, msg):
    with pytest.raises(BadInput, match=msg):
        R.parse(doc)


def test_bad_endpoint_scheme():
    with pytest.raises(BadInput, match="not an http"):
        R.resolve("busybox", R.parse({"mirrors": {"docker.io": {"endpoint": ["ftp://x"]}}}))
