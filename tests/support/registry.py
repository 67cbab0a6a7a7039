"""Real registries for the tests: Debian's ``docker-registry`` (CNCF distribution 2.8)
started on 127.0.0.1 in three set-ups, plus a token server and docker config helpers.

Fixtures (session-scoped unless said otherwise):

``registry_plain``  plain HTTP, no auth.
``registry_tls``    TLS with a test CA, htpasswd (bcrypt) basic auth.
``registry_token``  plain HTTP, ``auth: token:`` — a token server run here signs
                    JWTs with a test key; the registry trusts its certificate
                    (``rootcertbundle``) and the token names it in ``x5c``
                    (distribution registry/auth/token/token.go,
                    VerifySigningKey: x5c chain → roots).  The test user gets
                    every action asked for; anonymous gets ``pull`` on
                    ``public/*`` only.
``docker_config``   (function) writes ``config.json`` and puts a fake
                    ``docker-credential-test`` helper on PATH.

Each registry object: ``.host`` ("127.0.0.1:PORT"), ``.url``, ``.storage``,
``.ca_file`` (None unless TLS), ``.username``/``.password`` (None without
auth), ``.stop()``/``.start()`` (same port and storage: fault tests kill it
mid-copy), ``.blob_path(digest)`` (to corrupt a stored blob), and
``.client(**kw)`` — an archport Client set up for it.  ``registry_token``
also has ``.token_requests`` and ``.token_log``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import shutil
import socket
import ssl
import stat
import subprocess
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import bcrypt
import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

REGISTRY_BIN = "/usr/bin/docker-registry"
TEST_USER = "archport-tester"
SERVICE = "archport-test-registry"
ISSUER = "archport-test-issuer"
IDENTITY_TOKEN = "test-identity-token-" + "7f3a"   # accepted by the token server as a refresh token
PUBLIC_PREFIX = "public/"

__all__ = ["test_pki", "registry_plain", "registry_tls", "registry_token", "docker_config",
           "Registry", "TokenServer", "free_port", "TEST_USER", "IDENTITY_TOKEN", "PUBLIC_PREFIX"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- PKI ---------------------------------------------------------------------
def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert(subject, issuer, pub, signer, *, ca: bool, san: list | None = None) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(pub)
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                          content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False,
                                          encipher_only=False, decipher_only=False), critical=True)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return b.sign(signer, hashes.SHA256())


class PKI:
    """A test CA with a server certificate for 127.0.0.1/localhost, and a
    self-signed token-signing certificate (the registry's rootcertbundle)."""

    def __init__(self, root: Path) -> None:
        import ipaddress
        root.mkdir(parents=True, exist_ok=True)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _cert(_name("archport test CA"), _name("archport test CA"), ca_key.public_key(), ca_key, ca=True)
        srv_key = ec.generate_private_key(ec.SECP256R1())
        srv = _cert(_name("127.0.0.1"), ca.subject, srv_key.public_key(), ca_key, ca=False,
                    san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
        self.ca_file = root / "ca.crt"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        self.server_cert = root / "server.crt"
        self.server_cert.write_bytes(srv.public_bytes(serialization.Encoding.PEM))
        self.server_key = root / "server.key"
        self.server_key.write_bytes(_pem_key(srv_key))
        # skopeo --cert-dir wants a directory of *.crt CA files.
        self.cert_dir = root / "certs.d"
        self.cert_dir.mkdir(exist_ok=True)
        shutil.copy(self.ca_file, self.cert_dir / "ca.crt")
        self.token_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token_cert = _cert(_name("archport token signer"), _name("archport token signer"),
                           self.token_key.public_key(), self.token_key, ca=True)
        self.token_cert_der_b64 = base64.b64encode(token_cert.public_bytes(serialization.Encoding.DER)).decode()
        self.token_bundle = root / "token-bundle.pem"
        self.token_bundle.write_bytes(token_cert.public_bytes(serialization.Encoding.PEM))


# -- token server ------------------------------------------------------------
class TokenServer:
    """The realm: checks Basic credentials (or the OAuth2 refresh token), signs JWTs."""

    def __init__(self, pki: PKI, username: str, password: str) -> None:
        self.pki, self.username, self.password = pki, username, password
        self.token_requests = 0
        self.token_log: list[tuple[str, str, tuple[str, ...]]] = []   # (method, account, scopes)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                scopes = [s for v in q.get("scope", []) for s in v.split(" ") if s]
                account = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
                    if (user, pw) != (server.username, server.password):
                        return self._deny("GET", user, scopes)
                    account = user
                self._grant("GET", account, scopes, q.get("service", [""])[0])

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                scopes = [s for v in form.get("scope", []) for s in v.split(" ") if s]
                grant = form.get("grant_type", [""])[0]
                ok = (grant == "refresh_token" and form.get("refresh_token", [""])[0] == IDENTITY_TOKEN) or \
                     (grant == "password" and form.get("username", [""])[0] == server.username
                      and form.get("password", [""])[0] == server.password)
                if not ok:
                    return self._deny("POST", "", scopes)
                self._grant("POST", server.username, scopes, form.get("service", [""])[0])

            def _deny(self, method: str, account: str, scopes: list[str]) -> None:
                server._record(method, account or "", scopes)
                self._reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})

            def _grant(self, method: str, account: str | None, scopes: list[str], service: str) -> None:
                server._record(method, account or "", scopes)
                access = []
                for s in scopes:
                    head, _, actions = s.rpartition(":")
                    typ, _, name = head.partition(":")
                    wanted = [a for a in actions.split(",") if a]
                    granted = wanted if account else [a for a in wanted if a == "pull" and name.startswith(PUBLIC_PREFIX)]
                    if granted:
                        access.append({"type": typ, "name": name, "actions": granted})
                token = server.sign(account or "", service or SERVICE, access)
                body = {"token": token, "expires_in": 300, "issued_at": dt.datetime.now(dt.timezone.utc).isoformat()}
                if method == "POST":
                    body = {"access_token": token, "expires_in": 300, "scope": " ".join(scopes)}
                self._reply(200, body)

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.realm = f"http://127.0.0.1:{self._httpd.server_address[1]}/token"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def _record(self, method: str, account: str, scopes: list[str]) -> None:
        with self._lock:
            self.token_requests += 1
            self.token_log.append((method, account, tuple(scopes)))

    def sign(self, subject: str, audience: str, access: list[dict]) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": subject, "aud": audience, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": uuid.uuid4().hex, "access": access}
        return jwt.encode(claims, self.pki.token_key, algorithm="RS256",
                          headers={"x5c": [self.pki.token_cert_der_b64]})

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


# -- the registry process ----------------------------------------------------
class Registry:
    def __init__(self, root: Path, *, pki: PKI | None = None, htpasswd: tuple[str, str] | None = None,
                 token: TokenServer | None = None) -> None:
        self.root = root
        self.storage = root / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.scheme = "https" if pki else "http"
        self.url = f"{self.scheme}://{self.host}"
        self.ca_file = str(pki.ca_file) if pki else None
        self.cert_dir = str(pki.cert_dir) if pki else None
        self.token_server = token
        self.username = self.password = None
        cfg: dict = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.storage)}, "delete": {"enabled": True},
                        "maintenance": {"uploadpurging": {"enabled": False}}},
            # A fixed secret keeps upload sessions valid across stop()/start().
            "http": {"addr": self.host, "secret": secrets.token_hex(16)},
        }
        if pki:
            cfg["http"]["tls"] = {"certificate": str(pki.server_cert), "key": str(pki.server_key)}
        if htpasswd:
            self.username, self.password = htpasswd
            hashed = bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(rounds=4)).decode()
            (root / "htpasswd").write_text(f"{self.username}:{hashed}\n")
            cfg["auth"] = {"htpasswd": {"realm": "archport-test", "path": str(root / "htpasswd")}}
        if token:
            self.username, self.password = token.username, token.password
            cfg["auth"] = {"token": {"realm": token.realm, "service": SERVICE, "issuer": ISSUER,
                                     "rootcertbundle": str(token.pki.token_bundle)}}
        self.config = root / "config.yml"
        # JSON is YAML: no YAML writer needed.
        self.config.write_text(json.dumps(cfg, indent=2))
        self.log = root / "registry.log"
        self._proc: subprocess.Popen | None = None

    @property
    def token_requests(self) -> int:
        return self.token_server.token_requests if self.token_server else 0

    @property
    def token_log(self) -> list:
        return self.token_server.token_log if self.token_server else []

    def start(self, timeout: float = 30.0) -> None:
        # REGISTRY_* variables override the config file (distribution's
        # configuration parser): never let the caller's environment leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        if self.running:
            # A second process on the same port would exit at once, and this
            # object would lose the handle of the one still serving.
            raise RuntimeError(f"docker-registry on {self.host} is already running")
        logf = open(self.log, "ab")
        since = logf.tell()
        self._proc = subprocess.Popen([REGISTRY_BIN, "serve", str(self.config)], stdout=logf,
                                      stderr=subprocess.STDOUT, env=env, start_new_session=True)
        logf.close()
        deadline = time.monotonic() + timeout
        verify = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited ({self._proc.returncode}):\n{self.log.read_text()[-3000:]}")
            # Ready once this process holds the port (distribution logs
            # "listening on ADDR" after its listen succeeds) and answers:
            # an answer alone may come from whatever else holds the port.
            if not self._listening(since):
                time.sleep(0.05)
                continue
            try:
                r = httpx.get(f"{self.url}/v2/", verify=verify, timeout=2)
                if r.status_code in (200, 401):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docker-registry did not answer on {self.url}:\n{self.log.read_text()[-3000:]}")

    def _listening(self, since: int) -> bool:
        """Whether the log written since offset ``since`` says this start listens."""
        with open(self.log, "rb") as f:
            f.seek(since)
            return f"listening on {self.host}".encode() in f.read()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        self._proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(10)
        self._proc = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def blob_path(self, digest: str) -> Path:
        algo, hexpart = digest.split(":", 1)
        return self.storage / "docker/registry/v2/blobs" / algo / hexpart[:2] / hexpart / "data"

    def credentials(self):
        from archport.registry import Credentials
        if self.username is None:
            return None
        return Credentials.static({self.host: (self.username, self.password)})

    def client(self, **kw):
        """An archport Client for this registry (fast retries unless given)."""
        from archport.registry import Client, HostOptions, RetryPolicy
        kw.setdefault("retry", RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.5))
        options = kw.pop("options", None) or HostOptions(ca_file=self.ca_file)
        credentials = kw.pop("credentials", "default")
        if credentials == "default":
            credentials = self.credentials()
        return Client(options, credentials, **kw)


# -- fixtures ----------------------------------------------------------------
@pytest.fixture(scope="session")
def test_pki(tmp_path_factory) -> PKI:
    return PKI(tmp_path_factory.mktemp("pki"))


def _serve(reg: Registry):
    reg.start()
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session")
def registry_plain(tmp_path_factory):
    yield from _serve(Registry(tmp_path_factory.mktemp("registry-plain")))


@pytest.fixture(scope="session")
def registry_tls(tmp_path_factory, test_pki):
    yield from _serve(Registry(tmp_path_factory.mktemp("registry-tls"), pki=test_pki,
                               htpasswd=(TEST_USER, secrets.token_urlsafe(18))))


@pytest.fixture(scope="session")
def registry_token(tmp_path_factory, test_pki):
    server = TokenServer(test_pki, TEST_USER, secrets.token_urlsafe(18))
    try:
        yield from _serve(Registry(tmp_path_factory.mktemp("registry-token"), token=server))
    finally:
        server.close()


_HELPER = """#!{python}
import json, sys
store = json.load(open({store!r}))
server = sys.stdin.read().strip()
if sys.argv[1:] != ["get"] or server not in store:
    print("credentials not found in native keychain")
    sys.exit(1)
user, secret = store[server]
json.dump({{"ServerURL": server, "Username": user, "Secret": secret}}, sys.stdout)
"""


@pytest.fixture
def docker_config(tmp_path, monkeypatch):
    """``write(config: dict, helper: {server_url: (user, secret)} | None) -> dir``.

    Writes ``<dir>/config.json`` and a ``docker-credential-test`` helper (on
    PATH) that answers from ``helper``; returns the config directory, ready
    for ``load_credentials(dir, None)``."""
    import sys
    bindir = tmp_path / "bin"
    bindir.mkdir()
    cfgdir = tmp_path / "docker"
    cfgdir.mkdir()
    store = tmp_path / "helper-store.json"
    store.write_text("{}")
    helper = bindir / "docker-credential-test"
    helper.write_text(_HELPER.format(python=sys.executable, store=str(store)))
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")

    def write(config: dict, helper_secrets: dict | None = None) -> str:
        (cfgdir / "config.json").write_text(json.dumps(config))
        store.write_text(json.dumps({k: list(v) for k, v in (helper_secrets or {}).items()}))
        return str(cfgdir)

    return write
