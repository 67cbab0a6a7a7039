"""A gzip layer whose bytes were damaged is a digest mismatch, not "not a
readable tar layer": the decoder's complaint is a symptom, the blob's digest
says what is wrong (issue: messages that say what to do)."""

from __future__ import annotations

import os

from standins import images as im
from tests.support.cli import archport


def test_check_names_the_digest_of_a_damaged_gzip_layer(tmp_path):
    layer = im.layer_from_files({"bin/app": (os.urandom(200_000), 0o755)})
    img = im.make_image("linux/riscv64", [layer], config={"Entrypoint": ["/bin/app"]})
    lay = im.write_layout(tmp_path / "lay", {"v1": (img.manifest, [img])})
    blob = lay / "blobs" / "sha256" / layer.digest.split(":", 1)[1]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF                     # one byte flipped inside the deflate stream
    os.chmod(blob, 0o644)
    blob.write_bytes(bytes(data))
    p = archport("check", "--platform", "linux/riscv64", f"oci:{lay}:v1", expect=None)
    assert p.returncode == 1, p.stdout + p.stderr
    out = (p.stdout + p.stderr).lower()
    assert "digest" in out and layer.digest.split(":", 1)[1][:12] in out, p.stdout + p.stderr
    assert "not a readable tar layer" not in out
