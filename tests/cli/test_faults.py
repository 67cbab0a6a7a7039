"""Faults: the registry dies mid-copy; a stored blob does not match its digest.
The destination tag must never point at an incomplete image."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from standins import images as im

from standins import skopeo
from tests.support.cli import SRC, archport


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("big")
    layers = [im.big_layer(tmp / f"l{i}", 96 << 20) for i in range(3)]
    img = im.make_image("linux/amd64", layers)
    return im.write_layout(tmp / "lay", {"big": (img.manifest, [img])}), img


def _tag_status(url: str, repo: str, tag: str) -> int:
    return httpx.head(f"{url}/v2/{repo}/manifests/{tag}",
                      headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).status_code


def test_registry_killed_mid_copy_then_rerun_completes(registry_plain, big):
    lay, img = big
    dst = f"{registry_plain.host}/faults/big:1"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen([sys.executable, "-m", "archport.cli.main", "copy", "--jobs", "2", f"oci:{lay}:big", dst],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    # wait until bytes are flowing into the registry's upload area, then kill it
    uploads = registry_plain.storage / "docker" / "registry" / "v2" / "repositories" / "faults" / "big" / "_uploads"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if uploads.exists() and any(p.stat().st_size > (8 << 20) for p in uploads.rglob("data")):
            break
        time.sleep(0.05)
    registry_plain.kill()
    try:
        out, err = proc.communicate(timeout=180)
    finally:
        registry_plain.start()
    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "refused" in err.lower() or "connect" in err.lower() or "registry" in err.lower()
    assert _tag_status(registry_plain.url, "faults/big", "1") == 404  # never tagged
    archport("copy", f"oci:{lay}:big", dst)
    assert _tag_status(registry_plain.url, "faults/big", "1") == 200
    raw = skopeo.raw(f"docker://{dst}", "--tls-verify=false")
    assert raw == img.manifest.data


def test_corrupt_blob_is_detected_and_nothing_is_tagged(registry_plain, tmp_path):
    img = im.make_image("linux/amd64", [im.layer_from_files({"a": b"a" * 1000}), im.layer_from_files({"b": b"b"})])
    lay = im.write_layout(tmp_path / "l", {"x": (img.manifest, [img])})
    im.push(lay, "x", f"{registry_plain.host}/corrupt/src:x")
    stored = registry_plain.blob_path(img.layers[0].digest)
    data = bytearray(stored.read_bytes())
    data[100] ^= 0xFF
    stored.write_bytes(bytes(data))
    p = archport("copy", f"{registry_plain.host}/corrupt/src:x", f"oci:{tmp_path}/out:x", expect=1)
    assert "digest mismatch" in p.stderr
    assert not (tmp_path / "out" / "index.json").exists()
    # to another registry name (no cross-repository mount), the bytes stream
    # through archport and are checked on the way
    other = registry_plain.host.replace("127.0.0.1", "localhost")
    p = archport("copy", f"{registry_plain.host}/corrupt/src:x", f"{other}/corrupt/dst:x", expect=1)
    assert "digest" in p.stderr.lower()
    assert _tag_status(registry_plain.url, "corrupt/dst", "x") == 404
