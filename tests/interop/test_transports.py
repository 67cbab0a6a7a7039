"""Every transport archport writes, read by skopeo, crane and regctl."""

from __future__ import annotations

import json
import tarfile

from standins.skopeo import raw, skopeo
from tests.support.cli import archport

from .layouts import PAUSE, skopeo_pick


def test_registry(upstream, registry_plain, crane, regctl):
    root, up = upstream
    top, imgs = up["p"]
    ref = f"{registry_plain.host}/interop/transports:3.6"
    archport("copy", f"oci:{root}:p", ref)
    assert raw(f"docker://{ref}", "--tls-verify=false") == top.data
    crane("validate", "--insecure", "--remote", ref)
    regctl("registry", "set", "--tls", "disabled", registry_plain.host)
    assert regctl("manifest", "get", "--format", "raw-body", ref).stdout.encode() == top.data


def test_oci_archive(upstream, tmp_path, crane, regctl):
    root, up = upstream
    top, imgs = up["p"]
    out = tmp_path / "p.tar"
    archport("copy", f"oci:{root}:p", f"oci-archive:{out}:{PAUSE}")
    # skopeo by name (the OCI view beside the Docker list), the riscv64 image byte for byte
    assert skopeo_pick(f"oci-archive:{out}:{PAUSE}", tmp_path / "pick") == imgs[1].manifest.data
    # regctl imports the tar by the name and gets the list itself
    regctl("image", "import", "--name", PAUSE, f"ocidir://{tmp_path / 'imported'}:3.6", str(out))
    assert regctl("manifest", "get", "--format", "raw-body",
                  f"ocidir://{tmp_path / 'imported'}:3.6").stdout.encode() == top.data
    # crane reads the layout inside
    with tarfile.open(out) as t:
        names = t.getnames()
        t.extractall(tmp_path / "x", filter="data")
    assert not [n for n in names if n.rsplit("/", 1)[-1].startswith(".")]
    assert top.digest in crane("index", "list", str(tmp_path / "x")).stdout


def test_docker_archive(upstream, tmp_path, crane, regctl):
    root, up = upstream
    out = tmp_path / "p.tar"
    archport("copy", "--platform", "linux/riscv64", f"oci:{root}:p", f"docker-archive:{out}:{PAUSE}")
    got = json.loads(skopeo("inspect", f"docker-archive:{out}").stdout)
    assert got["Architecture"] == "riscv64"
    crane("validate", "--tarball", str(out))
    regctl("image", "import", f"ocidir://{tmp_path / 'imported'}:3.6", str(out))
    cfg = json.loads(regctl("image", "config", f"ocidir://{tmp_path / 'imported'}:3.6").stdout)
    assert cfg["architecture"] == "riscv64"
