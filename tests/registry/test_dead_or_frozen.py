"""A registry that dies or freezes is noticed in seconds.

A refused connection (nothing listens on the port) is asked again for about
two seconds, then fails with that cause: never the nested backoff of the
transport inside the upload session, which once made a killed registry a
minute and more.  A registry that accepts the connection and then never
answers, or stops in the middle of a blob, fails after the stall deadline
(``--stall-timeout N``), and the message says N.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest

from archport.oci import Descriptor, Digest
from archport.oci import mediatypes as mt
from archport.reference import parse
from archport.registry import Client, HostOptions, Transfer
from archport.registry.errors import Refused, Stalled
from standins import images as im
from tests.support.cli import SRC, archport
from tests.support.registry import Registry


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a loopback server that accepts and then freezes ---------------------------
CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
LAYER = os.urandom(256 << 10)
CDESC = Descriptor(mt.OCI_CONFIG, Digest.of(CONFIG), len(CONFIG))
LDESC = Descriptor(mt.OCI_LAYER_GZIP, Digest.of(LAYER), len(LAYER))
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": CDESC.to_dict(),
                       "layers": [LDESC.to_dict()]}).encode()


class Frozen:
    """``mode="silent"``: accepts every connection and never says a word.
    ``mode="mid-blob"``: a plain-HTTP registry that serves /v2/, the manifest
    and the config, then sends half of the layer and stops."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.release = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.release.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.mode == "silent":
                self.release.wait()
                return
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                method, path = head.split(b" ")[:2]
                path = path.decode()
                ctype, body = "application/json", b""
                if "/manifests/" in path:
                    ctype, body = mt.OCI_MANIFEST, MANIFEST
                elif path.endswith(str(CDESC.digest)):
                    body = CONFIG
                elif path.endswith(str(LDESC.digest)):
                    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(LAYER)}\r\n"
                                 f"Content-Type: application/octet-stream\r\n\r\n".encode())
                    conn.sendall(LAYER[: len(LAYER) // 2])
                    self.release.wait()
                    return
                conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nContent-Type: {ctype}\r\n"
                             f"Docker-Distribution-API-Version: registry/2.0\r\n\r\n".encode()
                             + (body if method != b"HEAD" else b""))
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.release.set()
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def frozen():
    made = []

    def make(mode: str) -> Frozen:
        made.append(Frozen(mode))
        return made[-1]
    yield make
    for f in made:
        f.close()


@contextmanager
def within(seconds: float):
    started = time.monotonic()
    yield
    took = time.monotonic() - started
    assert took < seconds, f"took {took:.1f} s, more than {seconds} s"


# -- a dead registry -------------------------------------------------------------
def test_a_closed_loopback_port_is_reported_in_seconds_with_the_cause():
    host = f"127.0.0.1:{closed_port()}"
    # The old nested backoff took 7.5 s here, and over a minute in a copy.
    with Client(HostOptions()) as c, within(4), pytest.raises(Refused) as e:
        c.get_manifest(parse(f"{host}/team/app:1"))
    assert "connection refused" in str(e.value) and host in str(e.value)
    assert "is the registry running" in str(e.value)


def test_copy_from_a_closed_port_fails_in_seconds(tmp_path):
    host = f"127.0.0.1:{closed_port()}"
    started = time.monotonic()
    p = archport("copy", f"{host}/team/app:1", f"oci:{tmp_path}/out:x", expect=1)
    assert time.monotonic() - started < 6.5
    assert "connection refused" in p.stderr and host in p.stderr


def test_a_registry_killed_mid_copy_is_reported_in_seconds(tmp_path):
    """A private docker-registry (the shared ones stay up), killed while a
    layer is going in: archport exits with the cause within seconds."""
    reg = Registry(tmp_path / "reg")
    reg.start()
    try:
        layers = [im.big_layer(tmp_path / f"l{i}", 64 << 20) for i in range(2)]
        img = im.make_image("linux/amd64", layers)
        lay = im.write_layout(tmp_path / "lay", {"big": (img.manifest, [img])})
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        proc = subprocess.Popen([sys.executable, "-m", "archport.cli.main", "copy", "--jobs", "2",
                                 f"oci:{lay}:big", f"{reg.host}/dead/big:1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        uploads = reg.storage / "docker/registry/v2/repositories/dead/big/_uploads"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if uploads.exists() and any(p.stat().st_size > (4 << 20) for p in uploads.rglob("data")):
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the copy ended before the registry was killed"
        reg.kill()
        killed = time.monotonic()
        out, err = proc.communicate(timeout=120)
        took = time.monotonic() - killed
    finally:
        reg.stop()
    assert proc.returncode == 1, (out, err)
    assert took < 15, f"reported {took:.1f} s after the kill"
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "connection refused" in err and reg.host in err


# -- a frozen registry ---------------------------------------------------------------
def test_a_registry_that_accepts_and_never_answers_fails_after_the_stall_deadline(frozen):
    f = frozen("silent")
    with Client(HostOptions(plain_http=frozenset({f.host})), transfer=Transfer(stall_timeout=2)) as c, within(10), \
            pytest.raises(Stalled) as e:
        c.get_manifest(parse(f"{f.host}/team/app:1"))
    assert "no progress for 2 s" in str(e.value) and "--stall-timeout 2" in str(e.value)
    assert e.value.seconds == 2 and e.value.host == f.host


def test_copy_from_a_frozen_registry_names_the_deadline(frozen, tmp_path):
    f = frozen("silent")
    started = time.monotonic()
    p = archport("copy", "--stall-timeout", "2", f"{f.host}/team/app:1", f"oci:{tmp_path}/out:x", expect=1)
    assert time.monotonic() - started < 20
    assert "within 2 s" in p.stderr and "--stall-timeout 2" in p.stderr
    assert not (tmp_path / "out" / "index.json").exists()


def test_a_registry_that_stops_mid_blob_fails_after_the_stall_deadline(frozen, tmp_path):
    f = frozen("mid-blob")
    ref = parse(f"{f.host}/team/app:1")
    with Client(HostOptions(plain_http=frozenset({f.host})), transfer=Transfer(stall_timeout=2)) as c:
        assert c.get_manifest(ref).raw == MANIFEST          # the registry works, until the layer
        with within(10), pytest.raises(Stalled, match="no progress for 2 s"):
            with c.open_blob(ref, LDESC) as chunks:
                for _ in chunks:
                    pass
    started = time.monotonic()
    p = archport("copy", "--stall-timeout", "2", "--plain-http", f.host, str(ref), f"oci:{tmp_path}/out:x",
                 expect=1)
    assert time.monotonic() - started < 20
    assert "no progress for 2 s" in p.stderr and "--stall-timeout 2" in p.stderr
    assert not (tmp_path / "out" / "index.json").exists()


def test_the_stall_timeout_must_be_seconds_above_zero(tmp_path):
    p = archport("copy", "--stall-timeout", "0", "a:1", f"oci:{tmp_path}/out:x", expect=2)
    assert "--stall-timeout" in p.stderr
