"""Test images for check: OCI layouts with hand-made layers.

Plain layers come from standins/images.py; the entries a normal builder
refuses to write (whiteouts, ``..`` names, device nodes, hard links to
nothing) are written here with ``tarfile`` directly.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import zstandard

from archport.layout import LayoutSource
from standins.images import (OCI_LAYER, Blob, layer_from_files, make_image, make_index, sha256,
                                  write_layout)

DEFAULT_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def raw_layer(entries: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]], compression: str = "gzip") -> Blob:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            ti, data = (e if isinstance(e, tuple) else (e, None))
            if data is not None:
                ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)
    tar_bytes = buf.getvalue()
    if compression == "gzip":
        blob, mtype = gzip.compress(tar_bytes, mtime=0), OCI_LAYER
    elif compression == "zstd":
        blob, mtype = zstandard.ZstdCompressor().compress(tar_bytes), "application/vnd.oci.image.layer.v1.tar+zstd"
    else:
        blob, mtype = tar_bytes, "application/vnd.oci.image.layer.v1.tar"
    b = Blob(mtype, blob, None, sha256(blob), len(blob))
    b.diff_id = sha256(tar_bytes)  # type: ignore[attr-defined]
    return b


def entry(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, link: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.linkname = kind, mode, link
    return ti


def files(d: dict) -> Blob:
    return layer_from_files(d)


def diff_id(b: Blob) -> str:
    if hasattr(b, "diff_id"):
        return b.diff_id  # type: ignore[attr-defined]
    return sha256(gzip.decompress(b.data))


def layout(tmp: Path, layers: list[Blob], config: dict | None = None, platform: str = "linux/riscv64",
           index: bool = True, name: str = "img", extra_platforms: tuple[str, ...] = (),
           diff_ids: list[str] | None = None) -> LayoutSource:
    """Write an OCI layout holding one image and return a real LayoutSource on it."""
    cfg = {"Env": list(DEFAULT_ENV), **(config or {})}
    img = make_image(platform, layers, config=cfg, diff_ids=diff_ids or [diff_id(b) for b in layers])
    others = [make_image(p, [files({f"{p.replace('/', '_')}": b"x"})]) for p in extra_platforms]
    images = [img, *others]
    top = make_index(images) if index else img.manifest
    root = tmp / name
    write_layout(root, {"v1": (top, images)})
    return LayoutSource(str(root), "v1")
