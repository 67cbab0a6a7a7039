"""A --mirror that cannot give the image is named as the cause: the mirror
lacks it (404) or cannot be reached.  The error never sends the user back to
--mirror, is said once for all the images it hits, and "rerun" appears only
when a rerun could help."""

from __future__ import annotations

import pytest

from archport.reference import DEFAULT_DOMAIN
from tests.support.cli import archport
from tests.support.registry import Registry, free_port

# .invalid never resolves (RFC 6761 §6.4): an upstream no machine reaches.
NOWHERE = "registry.invalid"


@pytest.fixture(scope="module")
def empty_mirror(tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp("empty-mirror"))
    reg.start()
    try:
        yield reg
    finally:
        reg.stop()


def _port(tmp_path, *args, expect=1):
    return archport("port", *args, "--arch", "riscv64", "--to", "oci:./x", cwd=tmp_path,
                    env={"XDG_CACHE_HOME": str(tmp_path / "cache")}, expect=expect, timeout=120)


def _no_loop(p, domain):
    out = p.stdout + p.stderr
    assert f"--mirror {domain}=HOST" not in out, out          # not the advice the user already followed
    assert "rerun" not in out and "run the same command again" not in out, out


def test_a_mirror_only_404_says_the_mirror_lacks_the_images_once(empty_mirror, tmp_path):
    h = empty_mirror.host
    p = _port(tmp_path, "--k3s", "v1.24.2", "--mirror", f"{DEFAULT_DOMAIN}={h}", "--mirror-only",
              "--plain-http", h)
    assert p.stderr.count(f"mirror {h}") == 1, p.stderr      # one cause, said once
    assert "does not have" in p.stderr and "8 images" in p.stderr
    assert f"cannot reach registry {DEFAULT_DOMAIN}" not in p.stderr
    assert "MANIFEST_UNKNOWN" not in p.stderr                 # the registry's code is not the message
    _no_loop(p, DEFAULT_DOMAIN)


def test_one_image_a_mirror_lacks_is_not_an_unknown_version(empty_mirror, tmp_path):
    h = empty_mirror.host
    p = _port(tmp_path, "rancher/mirrored-pause:3.6", "--mirror", f"{DEFAULT_DOMAIN}={h}", "--mirror-only",
              "--plain-http", h)                               # exit 1: the input is fine, the mirror is not
    assert "unknown version" not in p.stderr and f"mirror {h}" in p.stderr and "does not have" in p.stderr
    _no_loop(p, DEFAULT_DOMAIN)


def test_a_404_mirror_before_an_unreachable_upstream_names_the_mirror_not_mirror_again(empty_mirror, tmp_path):
    h = empty_mirror.host
    images = [f"{NOWHERE}/team/app{i}:1" for i in range(4)]
    p = _port(tmp_path, *images, "--mirror", f"{NOWHERE}={h}", "--plain-http", h)
    assert p.stderr.count(f"mirror {h}") == 1 and "does not have" in p.stderr, p.stderr
    assert "4 images" in p.stderr
    _no_loop(p, NOWHERE)


def test_an_unreachable_mirror_is_named_once_not_the_registry_it_mirrors(tmp_path):
    h = f"127.0.0.1:{free_port()}"                             # nothing listens there
    images = [f"{NOWHERE}/team/app{i}:1" for i in range(3)]
    for only in (("--mirror-only",), ()):
        p = _port(tmp_path, *images, "--mirror", f"{NOWHERE}={h}", *only, "--plain-http", h)
        assert p.stderr.count(f"cannot reach mirror {h}") == 1, p.stderr
        assert "3 images" in p.stderr
        _no_loop(p, NOWHERE)


def test_upstream_404_after_a_mirror_404_is_still_upstreams_word():
    """Both lack it: the image or version is unknown, as upstream says; no
    mirrors asked: nothing to retell."""
    from archport.errors import NotFound
    from archport.port import mirrored

    up = NotFound(404, ("MANIFEST_UNKNOWN",), "https://up.invalid/v2/a/manifests/1")
    assert mirrored.failure(up, NOWHERE, False) is None
    up.mirror_failures = (("127.0.0.1:1", NotFound(404, (), "http://127.0.0.1:1/v2/a/manifests/1")),)
    assert mirrored.failure(up, NOWHERE, False) is None
    only = NotFound(404, (), "http://127.0.0.1:1/v2/a/manifests/1")
    only.mirror_failures = ((("127.0.0.1:1"), only),)
    said = mirrored.failure(only, NOWHERE, True)          # --mirror-only: the mirror's 404 is the cause
    assert said is not None and str(said).startswith(f"mirror 127.0.0.1:1 (--mirror {NOWHERE}=127.0.0.1:1) ")
