"""Shipping a port: into an OCI layout, as an airgap archive containerd
imports, and the whole image set of a k3s release (--k3s)."""

from __future__ import annotations

import json
import subprocess

from tests.support.port import archport, upstream_digests
from standins.images import sha256
from standins import shared


def _port(reg, hello_catalog, go_env, tmp_path, *extra):
    return archport("port", "rancher/mirrored-example-hello:v1.2.3", "--arch", "riscv64",
                    "--mirror", f"docker.io={reg.host}", "--mirror-only", "--catalog", str(hello_catalog),
                    "--cache-dir", str(tmp_path / "cache"), "--json", *extra, env=go_env)


def test_port_to_layout_and_airgap(hello_upstream, hello_catalog, go_env, registry_plain, containerd, tmp_path):
    reg = registry_plain
    out = tmp_path / "hello.tar.zst"
    cp = _port(reg, hello_catalog, go_env, tmp_path, "--to", f"oci:{tmp_path}/lay", "--airgap", str(out))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (r,) = json.loads(cp.stdout)["images"]
    assert r["status"] == "ported", r
    # the layout holds the upstream children byte for byte plus riscv64
    idx = json.loads((tmp_path / "lay" / "index.json").read_text())
    (entry,) = [m for m in idx["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name")
                == "rancher/mirrored-example-hello:v1.2.3"]
    top = json.loads((tmp_path / "lay" / "blobs" / "sha256" / entry["digest"].split(":")[1]).read_bytes())
    up = upstream_digests(reg, "rancher/mirrored-example-hello:v1.2.3")
    got = {m["platform"]["architecture"]: m["digest"] for m in top["manifests"]}
    assert got["amd64"] == up["linux/amd64"] and got["arm64"] == up["linux/arm64"]
    assert got["riscv64"] == r["platformDigest"]
    # the airgap archive: containerd lists the fully qualified name with the
    # riscv64 manifest's digest; the .sha256 beside it matches
    assert (tmp_path / "hello.tar.zst.sha256").read_text().split()[0] == sha256(out.read_bytes()).split(":")[1]
    tar = tmp_path / "hello.tar"
    subprocess.run(["zstd", "-dq", "-o", str(tar), str(out)], check=True) if _has("zstd") else _unzstd(out, tar)
    ns = containerd.fresh_namespace()
    containerd.ctr("images", "import", "--all-platforms", "--no-unpack", str(tar), namespace=ns)
    listed = containerd.ctr("images", "ls", namespace=ns).stdout.splitlines()[1:]
    names = {line.split()[0]: line.split()[2] for line in listed if line.strip()}
    assert names == {"docker.io/rancher/mirrored-example-hello:v1.2.3": r["platformDigest"]}


def test_k3s_release_expands_to_its_image_set(registry_plain, go_env, tmp_path):
    # Nothing of v1.24.2 is on the mirror: every image is named, none claimed
    # ported, and the run exits 1 (a partial port is never called full).
    cp = archport("port", "--k3s", "v1.24.2", "--arch", "riscv64", "--to", f"{registry_plain.host}/k3s",
                  "--mirror", f"docker.io={registry_plain.host}", "--mirror-only", "--explain", "--json",
                  "--cache-dir", str(tmp_path), env=go_env)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    doc = json.loads(cp.stdout)
    wanted = {line.strip() for line in open(shared.IMAGES_TXT) if line.strip()}
    images = {i["image"] for i in doc["images"]}
    assert len(images) == 8
    if wanted:
        assert {w.split("/", 1)[1] if w.startswith("docker.io/") else w for w in wanted} <= \
            {i.split("/", 1)[1] if i.startswith("docker.io/") else i for i in images}
    assert all(i["status"] != "ported" for i in doc["images"])


def _has(tool: str) -> bool:
    import shutil
    return shutil.which(tool) is not None


def _unzstd(src, dst) -> None:
    import zstandard
    with open(src, "rb") as f, open(dst, "wb") as o:
        zstandard.ZstdDecompressor().copy_stream(f, o)


def test_layout_result_is_readable_by_name(hello_upstream, hello_catalog, go_env, registry_plain, tmp_path):
    """What port wrote into oci:DIR is addressed as oci:DIR:REPOSITORY:TAG."""
    cp = _port(registry_plain, hello_catalog, go_env, tmp_path, "--to", f"oci:{tmp_path}/lay")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    cp = archport("inspect", f"oci:{tmp_path}/lay:rancher/mirrored-example-hello:v1.2.3", "--json", env=go_env)
    assert cp.returncode == 0 and json.loads(cp.stdout)["hasWanted"], cp.stdout + cp.stderr
