"""Small "upstream" images built by hand, independently of archport.

Public registries are unreachable here, so the tests, the bed and acceptance
make their own upstream images:
multi-layer, multi-platform OCI layouts (or Docker-schema-2 ones), written with
plain ``tarfile``/``gzip``/``json`` so that a bug in archport's own builder
cannot hide a bug in what it copies.  ``push`` seeds a registry with skopeo,
again independently of archport's registry client.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from . import skopeo

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

TYPES = {
    "oci": (OCI_INDEX, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER),
    "docker": (DOCKER_LIST, DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER),
}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Blob:
    media_type: str
    data: bytes | None = None      # small blobs in memory
    path: Path | None = None       # big blobs on disk
    digest: str = ""
    size: int = 0

    def descriptor(self, **extra) -> dict:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


@dataclass
class Image:
    """One platform's image: manifest + config + layers."""
    platform: tuple[str, str, str]
    manifest: Blob
    config: Blob
    layers: list[Blob] = field(default_factory=list)

    def blobs(self) -> list[Blob]:
        return [self.config, *self.layers]


def with_parents(files: dict):
    """(path without slashes, value) in sorted order, each preceded by the
    parent directories ``files`` does not name, with the value None."""
    seen: set[str] = set()
    for name in sorted(files):
        parts = name.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in seen and d not in files:
                seen.add(d)
                yield d, None
        seen.add(name.strip("/"))
        yield name.strip("/"), files[name]


def layer_from_files(files: dict[str, bytes | tuple | str], media_type: str = OCI_LAYER) -> Blob:
    """A gzip tar layer.  Values: bytes (0644), (bytes, mode), (bytes, mode,
    uid, gid), ``"->target"`` for a symlink, or ``("dir", mode, uid, gid)``;
    other directories are implied (0755, root).  Entries sorted; mtime 0."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, value in with_parents(files):
            ti = tarfile.TarInfo(name)
            if value is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(ti)
                continue
            if isinstance(value, str) and value.startswith("->"):
                ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, value[2:], 0o777
                tar.addfile(ti)
                continue
            if isinstance(value, tuple) and value[0] == "dir":
                ti.type, ti.mode, ti.uid, ti.gid = tarfile.DIRTYPE, value[1], value[2], value[3]
                tar.addfile(ti)
                continue
            data, mode, uid, gid = (value, 0o644, 0, 0) if isinstance(value, bytes) else (*value, 0, 0)[:4]
            ti.size, ti.mode, ti.uid, ti.gid = len(data), mode, uid, gid
            tar.addfile(ti, io.BytesIO(data))
    gz = gzip.compress(raw.getvalue(), compresslevel=1, mtime=0)
    return Blob(media_type, gz, None, sha256(gz), len(gz))


def big_layer(path: Path, size: int, media_type: str = OCI_LAYER) -> Blob:
    """A layer blob of ``size`` incompressible bytes, written streaming to
    ``path`` (it is opaque to the registry; copies never look inside)."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            f.write(chunk)
            h.update(chunk)
            left -= len(chunk)
    return Blob(media_type, None, path, "sha256:" + h.hexdigest(), size)


def make_image(
    platform: str,
    layers: list[Blob],
    config: dict | None = None,
    family: str = "oci",
    diff_ids: list[str] | None = None,
) -> Image:
    _, mtype, ctype, _ = TYPES[family]
    os_, arch, *rest = platform.split("/")
    variant = rest[0] if rest else ""
    cfg = {
        "architecture": arch,
        "os": os_,
        "config": config or {"Entrypoint": ["/pause"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids or [_diff_id(b) for b in layers]},
        # The module's old path, kept: it is in every config, so the images' digests stay as they were.
        "history": [{"created_by": "tests/support/images.py"}],
    }
    if variant:
        cfg["variant"] = variant
    cfg_raw = json.dumps(cfg, sort_keys=True).encode()
    config_blob = Blob(ctype, cfg_raw, None, sha256(cfg_raw), len(cfg_raw))
    man = {
        "schemaVersion": 2,
        "mediaType": mtype,
        "config": config_blob.descriptor(),
        "layers": [b.descriptor() for b in layers],
    }
    raw = json.dumps(man, indent=3).encode()  # deliberately not our formatting
    return Image((os_, arch, variant), Blob(mtype, raw, None, sha256(raw), len(raw)), config_blob, layers)


def _diff_id(b: Blob) -> str:
    if b.data is not None:
        try:
            return sha256(gzip.decompress(b.data))
        except OSError:
            return b.digest
    return b.digest  # big opaque blobs: not a real tar; fine for copy tests


def make_index(images: list[Image], family: str = "oci", annotations: dict | None = None) -> Blob:
    itype = TYPES[family][0]
    entries = []
    for img in images:
        plat = {"architecture": img.platform[1], "os": img.platform[0]}
        if img.platform[2]:
            plat["variant"] = img.platform[2]
        entries.append(img.manifest.descriptor(platform=plat))
    doc = {"schemaVersion": 2, "mediaType": itype, "manifests": entries}
    if annotations:
        doc["annotations"] = annotations
    raw = json.dumps(doc, indent=3).encode()
    return Blob(itype, raw, None, sha256(raw), len(raw))


def write_layout(root: Path, tagged: dict[str, tuple[Blob, list[Image]]]) -> Path:
    """Write an OCI layout: ``tagged`` maps tag -> (top blob, its images).
    The top blob is an index (from :func:`make_index`) or one image's manifest."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def put(b: Blob) -> None:
        dst = blobs / b.digest.split(":", 1)[1]
        if dst.exists():
            return
        if b.data is not None:
            dst.write_bytes(b.data)
        else:
            os.link(b.path, dst) if _same_fs(b.path, blobs) else dst.write_bytes(b.path.read_bytes())

    entries = []
    for tag, (top, images) in tagged.items():
        for img in images:
            for b in img.blobs():
                put(b)
            put(img.manifest)
        put(top)
        entries.append(top.descriptor(annotations={"org.opencontainers.image.ref.name": tag}))
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}))
    return root


def _same_fs(a: Path, b: Path) -> bool:
    return os.stat(a).st_dev == os.stat(b).st_dev


def multiarch(tmp: Path, name: str, platforms=("linux/amd64", "linux/arm64", "linux/arm/v7"),
              layers_per_platform: int = 2, family: str = "oci", config: dict | None = None) -> tuple[Blob, list[Image]]:
    """A small multi-platform image with distinct layers per platform."""
    images = []
    for p in platforms:
        layers = [
            layer_from_files({f"{name}/{p.replace('/', '_')}/layer{i}.txt": f"{name} {p} {i}\n".encode() * (i + 1)},
                             media_type=TYPES[family][3])
            for i in range(layers_per_platform)
        ]
        images.append(make_image(p, layers, config=config, family=family))
    return make_index(images, family), images


def push(layout: Path, tag: str, dest: str, *, tls_verify: bool = False, extra: list[str] | None = None) -> None:
    """Seed a registry from a layout with skopeo (digests preserved)."""
    skopeo.skopeo("copy", "--all", "--preserve-digests", f"--dest-tls-verify={str(tls_verify).lower()}",
                  *(extra or []), f"oci:{layout}:{tag}", f"docker://{dest}", timeout=600)


def push_raw(registry_url: str, repo: str, tag: str, top: Blob, images: list[Image]) -> None:
    """Seed a plain-HTTP registry with bare distribution-API requests (POST+PUT
    uploads, manifest PUTs).  skopeo 1.9 cannot read Docker-typed entries from
    an OCI layout, so Docker manifest lists are pushed this way — still
    independent of archport's own client."""
    import httpx

    with httpx.Client(base_url=registry_url, timeout=60) as c:
        def blob(b: Blob) -> None:
            if c.head(f"/v2/{repo}/blobs/{b.digest}").status_code == 200:
                return
            r = c.post(f"/v2/{repo}/blobs/uploads/")
            r.raise_for_status()
            loc = r.headers["Location"]
            data = b.data if b.data is not None else b.path.read_bytes()
            sep = "&" if "?" in loc else "?"
            c.put(f"{loc}{sep}digest={b.digest}", content=data,
                  headers={"Content-Type": "application/octet-stream"}).raise_for_status()

        def manifest(b: Blob, ref: str) -> None:
            c.put(f"/v2/{repo}/manifests/{ref}", content=b.data,
                  headers={"Content-Type": b.media_type}).raise_for_status()

        for img in images:
            for b in img.blobs():
                blob(b)
            manifest(img.manifest, img.manifest.digest)
        manifest(top, tag)


def push_index(work: Path, host: str, repo_tag: str, per_arch: dict[str, dict], config: dict,
               layout_name: str | None = None) -> dict[str, str]:
    """An index of one single-layer image per architecture (``per_arch``: arch
    -> files, as :func:`layer_from_files` takes them), written as a layout
    under ``work`` and pushed to ``host`` with skopeo, digests preserved.
    Returns the index digest (``"index"``) and each platform's manifest digest."""
    imgs = [make_image(f"linux/{arch}", [layer_from_files(files)], config=config) for arch, files in per_arch.items()]
    top = make_index(imgs)
    name = layout_name or "layout-" + repo_tag.replace("/", "_").replace(":", "_")
    layout = write_layout(work / name, {"t": (top, imgs)})
    push(layout, "t", f"{host}/{repo_tag}")
    return {"index": top.digest, **{f"linux/{img.platform[1]}": img.manifest.digest for img in imgs}}
