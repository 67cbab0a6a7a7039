"""What a user reads says each thing once, with no empty reasons, no
"1 image(s)", no trailing spaces, and digests that are really there."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from archport.cli.render import Notes, plural
from archport.errors import ArchportError
from archport.platform import parse as parse_platform
from standins import images as im
from tests.support.cli import archport


def test_plural_forms():
    assert [plural(n, "image") for n in (0, 1, 2)] == ["0 images", "1 image", "2 images"]
    assert plural(1, "layer") == "1 layer" and plural(3, "layer") == "3 layers"


def test_footnotes_have_no_trailing_spaces():
    notes = Notes()
    notes.mark("short")
    notes.mark("a longer note " * 12)
    buf = io.StringIO()
    notes.print(Console(file=buf, width=80, force_terminal=False))
    lines = buf.getvalue().splitlines()
    assert lines[1].startswith("[1] short") and lines[2].startswith("[2] a longer note")
    assert all(line == line.rstrip() and len(line) <= 80 for line in lines), lines
    assert lines[3].startswith("    ") and lines[3][4] != " ", lines   # a hanging indent


def _layout(tmp_path: Path) -> str:
    a = im.make_image("linux/amd64", [im.layer_from_files({"bin/app": b"x"})])
    b = im.make_image("linux/riscv64", [im.layer_from_files({"bin/app": b"y"})])
    im.write_layout(tmp_path / "l", {"1": (im.make_index([a, b]), [a, b])})
    return f"oci:{tmp_path / 'l'}:1"


def test_copy_to_docker_archive_prints_the_digest_the_archive_has(tmp_path):
    src = _layout(tmp_path)
    dst = f"docker-archive:{tmp_path / 'x.tar'}"
    doc = json.loads(archport("--json", "copy", src, dst, "--platform", "linux/riscv64").stdout)
    seen = json.loads(archport("--json", "inspect", dst).stdout)
    assert doc["digest"] == seen["digest"], (doc, seen)
    with tarfile.open(tmp_path / "x.tar") as tar:
        (entry,) = json.load(tar.extractfile("manifest.json"))
    assert doc["imageId"] == "sha256:" + entry["Config"].rsplit("/", 1)[-1]
    human = archport("copy", src, f"docker-archive:{tmp_path / 'y.tar'}", "--platform", "linux/riscv64").stdout
    assert f"digest    {seen['digest']}" in human and doc["imageId"] in human, human
    assert "1 manifest written" in human, human


def test_smoke_never_gives_an_empty_reason():
    from archport.smoke.run import _on_qemu
    for mode, native in (("containerd", False), ("qemu", True)):
        run = SimpleNamespace(opts=SimpleNamespace(mode=mode, platform=parse_platform("linux/riscv64")), notes=[])
        st = SimpleNamespace(native=native, ready=True, missing="")
        with pytest.raises(ArchportError) as e:
            _on_qemu(run, st, "", [], "/bin/app")
        assert not str(e.value).rstrip().endswith(":"), str(e.value)


def test_k3s_minor_version_in_audit_and_port_says_which_release():
    p = archport("audit", "--k3s", "1.24", "--no-registry", expect=None, env={"COLUMNS": "80"})
    assert "k3s 1.24: v1.24.6+k3s1, the newest 1.24 release the catalog knows" in p.stderr, p.stderr
    assert "needs 8 images" in p.stdout and "image(s)" not in p.stdout, p.stdout
    p = archport("port", "--k3s", "v1.34.11", "--to", "oci:/tmp/nowhere", expect=2)
    assert "the nearest the catalog knows is v1.34.9+k3s1" in p.stderr and len(p.stderr.splitlines()) == 1
