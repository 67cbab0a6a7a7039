"""Failure messages that say what to do next."""

from __future__ import annotations

import uuid

from standins import images as im
from tests.support.cli import archport


def test_a_plain_http_registry_reached_over_https_names_plain_http(registry_plain, tmp_path):
    """Loopback names get plain HTTP on their own (after HTTPS is answered in
    plain text), so the registry is named 0.0.0.0:PORT: Linux delivers a
    connection to 0.0.0.0 to this machine, but it is not a loopback *name*,
    so archport speaks HTTPS to it as to any remote registry."""
    repo = f"msg-{uuid.uuid4().hex[:6]}/app"
    img = im.make_image("linux/amd64", [im.layer_from_files({"f": b"x"})])
    im.push(im.write_layout(tmp_path / "l", {"1": (img.manifest, [img])}), "1", f"{registry_plain.host}/{repo}:1")
    host = registry_plain.host.replace("127.0.0.1", "0.0.0.0")
    p = archport("inspect", f"{host}/{repo}:1", expect=1)
    assert len(p.stderr.strip().splitlines()) == 1
    assert f"--plain-http {host}" in p.stderr and "does not speak TLS" in p.stderr
    # doing what it says works
    archport("--plain-http", host, "inspect", "--platform", "linux/amd64", f"{host}/{repo}:1")


def test_doctor_from_a_garbage_tar_is_one_line(tmp_path):
    bad = tmp_path / "dump.tar"
    bad.write_bytes(b"\x00not a tar\xff" * 300)
    p = archport("doctor", "--from", str(bad), expect=2)
    assert p.stderr.strip().count("\n") == 0
    assert "not a readable dump archive" in p.stderr
