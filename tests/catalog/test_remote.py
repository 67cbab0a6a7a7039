"""Release lists read from the releases: a loopback HTTPS server serves
``k3s-images.txt`` files in the layout k3s publishes them
(``BASE/VERSION/k3s-images.txt``), with the test's own CA passed in through
``--ca-file``; TLS verification stays on."""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest

from archport.reference import DEFAULT_DOMAIN
from tests.support.cli import archport

# v1.37.1+k3s1's list as its release would publish it (fully qualified, as
# scripts/airgap/image-list.txt writes it); klipper-helm differs from the
# catalog's inferred tag so that the test sees which list was used.
V1371 = [
    "rancher/klipper-helm:v0.13.4-build20260920", "rancher/klipper-lb:v0.4.17",
    "rancher/local-path-provisioner:v0.0.37", "rancher/mirrored-coredns-coredns:1.14.7",
    "rancher/mirrored-library-busybox:1.37.0", "rancher/mirrored-library-traefik:3.7.13",
    "rancher/mirrored-metrics-server:v0.9.0", "rancher/mirrored-pause:3.10.2",
]


def _text(images) -> str:
    return "".join(f"{DEFAULT_DOMAIN}/{i}\n" for i in images)


class ReleaseServer:
    """``files`` maps a release version to its list's text; every GET is logged."""

    def __init__(self, pki=None) -> None:
        self.files: dict[str, str] = {}
        self.log: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                path = unquote(self.path)
                server.log.append(path)
                parts = path.strip("/").split("/")
                body = None
                if len(parts) == 5 and parts[:3] == ["k3s", "releases", "download"] and parts[4] == "k3s-images.txt":
                    body = server.files.get(parts[3])
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if pki is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(pki.server_cert, pki.server_key)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.base = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}/k3s/releases/download"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def releases(test_pki):
    server = ReleaseServer(test_pki)
    yield server
    server.close()


def _run(server, pki, cache, *args, expect=0):
    # wide: a wrapped note would split the phrases the tests look for
    return archport(*args, "--releases-url", server.base, "--ca-file", str(pki.ca_file),
                    env={"XDG_CACHE_HOME": str(cache), "COLUMNS": "250"}, expect=expect)


def test_a_release_list_is_read_from_the_release_then_kept(releases, test_pki, tmp_path):
    releases.files["v1.37.1+k3s1"] = _text(V1371)
    p = _run(releases, test_pki, tmp_path, "catalog", "release", "v1.37.1+k3s1")
    assert "rancher/klipper-helm:v0.13.4-build20260920" in p.stdout, p.stdout
    assert "read from the release now" in p.stdout and "inferred" not in p.stdout
    assert releases.log == ["/k3s/releases/download/v1.37.1+k3s1/k3s-images.txt"]
    # kept: the next run asks nothing and says when it was read
    p = _run(releases, test_pki, tmp_path, "--json", "catalog", "release", "v1.37")
    doc = json.loads(p.stdout)
    assert len(releases.log) == 1
    assert doc["version"] == "v1.37.1+k3s1" and doc["list"]["origin"] == "cache"
    assert doc["list"]["url"] == f"{releases.base}/v1.37.1+k3s1/k3s-images.txt" and doc["list"]["readAt"]
    assert sorted(doc["images"]) == sorted(V1371) and doc["list"]["inferred"] is False
    kept = list((tmp_path / "archport" / "k3s-releases").glob("*.json"))
    record = json.loads(kept[0].read_text())
    assert len(kept) == 1 and record["url"] == doc["list"]["url"] and record["readAt"] == doc["list"]["readAt"]


def test_audit_and_port_use_the_release_list_and_say_so(releases, test_pki, tmp_path):
    releases.files["v1.37.1+k3s1"] = _text(V1371)
    p = _run(releases, test_pki, tmp_path, "audit", "--k3s", "v1.37", "--no-registry", expect=None)
    assert "klipper-helm:v0.13.4-build20260920" in p.stdout, p.stdout
    assert "k3s 1.37: v1.37.1+k3s1, the newest 1.37 release the catalog or the cache knows" not in p.stderr
    assert "k3s 1.37: v1.37.1+k3s1, the newest 1.37 release the catalog knows" in p.stderr
    assert "image list: read from the release now" in p.stderr, p.stderr
    p = _run(releases, test_pki, tmp_path, "port", "--k3s", "v1.37.1", "--explain", expect=None)
    assert "klipper-helm:v0.13.4-build20260920" in p.stdout, p.stdout
    assert "image list: read from the release on " in p.stderr and "kept in the cache" in p.stderr, p.stderr


def test_a_list_that_cannot_be_read_falls_back_to_the_catalog_and_says_inferred(releases, test_pki, tmp_path):
    p = _run(releases, test_pki, tmp_path, "catalog", "release", "v1.37.1+k3s1")      # 404
    assert "klipper-helm:v0.13.3-build20260727" in p.stdout
    assert "the catalog's, inferred" in p.stdout and "HTTP 404" in p.stdout, p.stdout
    # TLS verification stays on: without the test's CA the server is not trusted
    releases.files["v1.37.1+k3s1"] = _text(V1371)
    p = archport("catalog", "release", "v1.37.1+k3s1", "--releases-url", releases.base,
                 env={"XDG_CACHE_HOME": str(tmp_path), "COLUMNS": "250"})
    assert "inferred" in p.stdout and "certificate" in p.stdout.lower(), p.stdout
    assert not list(tmp_path.rglob("*.json"))
    # a release the catalog lists as read falls back to that, without "inferred"
    p = _run(releases, test_pki, tmp_path, "catalog", "release", "v1.36.4+k3s1")
    assert "read from the release when archport was made" in p.stdout and "inferred" not in p.stdout


def test_a_served_file_that_is_not_an_image_list_is_not_used(releases, test_pki, tmp_path):
    releases.files["v1.37.1+k3s1"] = "<html>not here</html>\n"
    p = _run(releases, test_pki, tmp_path, "catalog", "release", "v1.37.1+k3s1")
    assert "inferred" in p.stdout and "not an image reference" in p.stdout, p.stdout
    assert not list(tmp_path.rglob("*.json"))


def test_a_full_release_name_the_catalog_lacks_is_read_from_its_release(releases, test_pki, tmp_path):
    releases.files["v1.37.9+k3s2"] = _text(V1371)
    p = _run(releases, test_pki, tmp_path, "catalog", "release", "v1.37.9+k3s2")
    assert "k3s v1.37.9+k3s2" in p.stdout and "read from the release now" in p.stdout
    p = _run(releases, test_pki, tmp_path, "catalog", "release", "v1.37.8+k3s1", expect=2)
    assert len(p.stderr.strip().splitlines()) == 1 and "HTTP 404" in p.stderr, p.stderr
    # a version that names no full release and none known: catalog update is the next step
    p = _run(releases, test_pki, tmp_path, "catalog", "release", "v1.39.2", expect=2)
    assert len(p.stderr.strip().splitlines()) == 1 and "'archport catalog update' reads" in p.stderr, p.stderr


def test_update_finds_newer_releases_by_their_asset_and_keeps_them(releases, test_pki, tmp_path):
    newer = {"v1.37.2+k3s1": V1371, "v1.37.4+k3s1": V1371, "v1.37.4+k3s2": V1371,   # no v1.37.3
             "v1.38.0+k3s1": [i.replace("3.10.2", "3.10.3") for i in V1371], "v1.37.1+k3s1": V1371}
    for v, images in newer.items():
        releases.files[v] = _text(images)
    doc = first = json.loads(_run(releases, test_pki, tmp_path, "--json", "catalog", "update").stdout)
    assert doc["complete"] is True and doc["stopped"] is None
    assert {r["version"] for r in doc["read"]} == set(newer)
    assert all(r["url"].startswith(releases.base) and r["readAt"] for r in doc["read"])
    assert doc["requests"] == len(releases.log) < 80, releases.log
    # every shipped release whose list is inferred was asked for; none of them is served here
    assert "v1.24.2+k3s2" in doc["notPublished"] and "v1.36.4+k3s1" not in doc["notPublished"]
    # versions now match over the catalog and the cache
    p = _run(releases, test_pki, tmp_path, "catalog", "release", "1.38")
    assert "mirrored-pause:3.10.3" in p.stdout and "kept in the cache" in p.stdout
    assert "k3s 1.38: v1.38.0+k3s1, the newest 1.38 release the catalog or the cache knows" in p.stderr
    p = _run(releases, test_pki, tmp_path, "catalog", "release", "v1.37.4")
    assert "k3s v1.37.4: v1.37.4+k3s2, its newest k3s revision" in p.stderr, p.stderr
    p = _run(releases, test_pki, tmp_path, "catalog", "releases")
    rows = {line.split()[0]: line for line in p.stdout.splitlines() if line.startswith("v1.")}
    assert "cached" in rows["v1.38.0+k3s1"] and "just now" in rows["v1.38.0+k3s1"]
    assert "shipped" in rows["v1.36.4+k3s1"] and "inferred" in rows["v1.36.5+k3s1"]
    assert "cached" in rows["v1.37.1+k3s1"]
    # a second update asks only for what is still unknown, and finds nothing new
    before = len(releases.log)
    doc = json.loads(_run(releases, test_pki, tmp_path, "--json", "catalog", "update").stdout)
    assert doc["read"] == [] and len(releases.log) - before == doc["requests"] < first["requests"]


def test_update_is_bounded_and_a_dead_server_is_named(releases, test_pki, tmp_path):
    p = _run(releases, test_pki, tmp_path, "catalog", "update", "--limit", "3", expect=1)
    assert "stopped after 3 requests" in p.stderr and len(releases.log) == 3
    url = releases.base
    releases.close()
    p = archport("catalog", "update", "--releases-url", url, "--ca-file", str(test_pki.ca_file),
                 env={"XDG_CACHE_HOME": str(tmp_path)}, expect=1)
    assert "connection refused" in p.stderr.lower() and "Errno" not in p.stderr, p.stderr


def test_releases_url_must_be_https_or_loopback(tmp_path):
    p = archport("catalog", "release", "1.37", "--releases-url", "http://example.invalid/x",
                 env={"XDG_CACHE_HOME": str(tmp_path)}, expect=2)
    assert len(p.stderr.strip().splitlines()) == 1 and "--releases-url" in p.stderr
    p = archport("catalog", "update", "--releases-url", "off", env={"XDG_CACHE_HOME": str(tmp_path)}, expect=2)
    assert "--releases-url" in p.stderr
