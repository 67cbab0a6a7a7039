"""Credentials never reach stderr or --json, even when a registry sends them back."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.cli import archport

USER, PASSWORD = "alice", "s3cr3t-Pa55word-9f1c"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


class _Echo(BaseHTTPRequestHandler):
    """A registry that asks for Basic auth, then answers 400 with an error
    body quoting the Authorization header it got (as some proxies do), plus a
    bearer token and a URL with userinfo for good measure."""

    def log_message(self, *args) -> None:
        pass

    def _answer(self) -> None:
        auth = self.headers.get("Authorization")
        if not auth:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="echo"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"errors": [{"code": "DENIED", "message":
                           f"refused request with Authorization: {auth}; also tried Bearer {TOKEN} "
                           f"via https://{USER}:{PASSWORD}@upstream.invalid/v2/"}]}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = _answer


@pytest.fixture
def echo_registry():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _config(tmp_path, host: str) -> dict:
    d = tmp_path / "docker"
    d.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (d / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return {"DOCKER_CONFIG": str(d), "REGISTRY_AUTH_FILE": ""}


def _leaks(text: str) -> list[str]:
    b64 = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return [s for s in (PASSWORD, b64, TOKEN, TOKEN.split(".")[1]) if s in text]


@pytest.mark.parametrize("command", [["inspect"], ["copy", "--", "DST"]])
def test_an_echoed_authorization_header_is_redacted(echo_registry, tmp_path, command):
    env = _config(tmp_path, echo_registry)
    ref = f"{echo_registry}/team/app:1"
    argv = [command[0], ref] if command == ["inspect"] else ["copy", ref, f"oci:{tmp_path}/out:1"]
    p = archport(*argv, env=env, expect=1)
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "HTTP 400" in p.stderr and "<redacted>" in p.stderr
    assert _leaks(p.stderr) == [], p.stderr
    pj = archport(*argv, "--json", env=env, expect=1)
    doc = json.loads(pj.stdout)
    assert doc["exitCode"] == 1 and "HTTP 400" in doc["error"]
    assert _leaks(pj.stdout + pj.stderr) == [], pj.stdout
    assert USER in doc["error"]   # the user name is not a secret and helps debugging
