"""Small images the bed makes itself: a static Go program per platform, one
file in one layer, as an OCI image layout or an OCI archive for ``ctr import``.

The bed's pause image is one of them (a sandbox image with riscv64 in it,
which the bed must have before any pod can start).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

from testbed import build

PAUSE_GO = """package main

// The sandbox's only process: it holds the pod's namespaces and waits.
import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	<-c
}
"""

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def go_program(source: str, goarch: str, out: Path) -> Path:
    """Build a one-file Go program for linux/``goarch``, static."""
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "main.go").write_text(source)
        (Path(d) / "go.mod").write_text("module testbedprogram\n\ngo 1.21\n")
        env = build.go_env(goarch)
        env["GOFLAGS"] = "-buildvcs=false"
        cp = subprocess.run([build.go_binary(), "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out), "."],
                            cwd=d, env=env, capture_output=True, text=True)
        if cp.returncode != 0:
            raise build.BuildError(f"go build ({goarch}): {cp.stderr[-2000:]}")
    return out


def _blob(root: Path, data: bytes, media_type: str, **extra) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data), **extra}


def _layer(files: dict[str, tuple[bytes, int]]) -> tuple[bytes, str]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, (data, mode) in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), mode, 0
            tar.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest()


def layout(root: Path, entrypoint: str, binaries: dict[str, bytes], ref_name: str) -> Path:
    """An OCI layout whose one tag ``ref_name`` is an index over
    ``binaries`` (platform like ``linux/riscv64`` -> program bytes)."""
    manifests = []
    for platform, program in binaries.items():
        os_, arch = platform.split("/")[:2]
        layer, diff_id = _layer({entrypoint.lstrip("/"): (program, 0o755)})
        cfg = {"architecture": arch, "os": os_,
               "config": {"Entrypoint": [entrypoint], "Env": ["PATH=/"]},
               "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
        cfg_d = _blob(root, json.dumps(cfg, sort_keys=True).encode(), OCI_CONFIG)
        lay_d = _blob(root, layer, OCI_LAYER)
        man = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg_d, "layers": [lay_d]}
        manifests.append(_blob(root, json.dumps(man).encode(), OCI_MANIFEST,
                               platform={"architecture": arch, "os": os_}))
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    top = _blob(root, json.dumps(index).encode(), OCI_INDEX,
                annotations={"org.opencontainers.image.ref.name": ref_name.rsplit(":", 1)[-1],
                             "io.containerd.image.name": ref_name})
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    return root


def archive(layout_dir: Path, out: Path) -> Path:
    with tarfile.open(out, "w") as tar:
        for p in sorted(layout_dir.rglob("*")):
            tar.add(p, arcname=str(p.relative_to(layout_dir)), recursive=False)
    return out


def pause_archive(dest_dir: Path, ref_name: str) -> Path:
    """The bed's pause image (riscv64 and amd64) as an OCI archive, cached."""
    out = dest_dir / "pause.oci.tar"
    if out.is_file():
        return out
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest_dir) as d:
        bins = {}
        for arch in ("riscv64", "amd64"):
            bins[f"linux/{arch}"] = go_program(PAUSE_GO, arch, Path(d) / f"pause-{arch}").read_bytes()
        lay = layout(Path(d) / "layout", "/pause", bins, ref_name)
        archive(lay, Path(d) / "pause.tar").rename(out)
    return out
