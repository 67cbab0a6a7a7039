"""The k3s airgap archive: imported by a real containerd, checked by skopeo."""

from __future__ import annotations

import gzip
import json
import subprocess
import tarfile

import pytest
import zstandard

from archport.airgap import AirgapSink, compression_for
from archport.copy import transfer
from archport.errors import ArchportError, BadInput
from archport.layout import LayoutSource
from archport.platform import ARM64, RISCV64
from archport.store import Sink
from standins import images as I
from standins import skopeo

PAUSE = "rancher/mirrored-pause:3.6"
COREDNS = "rancher/mirrored-coredns-coredns:1.9.1"
HELM = "rancher/klipper-helm:v0.7.3"
K3S_ZSTD_WINDOW = 32 << 20  # k3s's decoder limit


@pytest.fixture
def upstream(tmp_path):
    plats = ("linux/amd64", "linux/arm64", "linux/riscv64")
    tagged = {n: I.multiarch(tmp_path, n, platforms=plats) for n in ("pause", "coredns", "helm")}
    return I.write_layout(tmp_path / "up", tagged), tagged


def _write(out, upstream, level=None):
    """pause: every platform (original index); coredns: riscv64 only (the
    orchestrator keeps the index and sends one child); helm: two platforms."""
    root, tagged = upstream
    sink = AirgapSink(out, level)
    try:
        transfer(LayoutSource(root, "pause"), sink, name=PAUSE)
        transfer(LayoutSource(root, "coredns"), sink, name=COREDNS, platforms=[RISCV64], keep_index=True)
        transfer(LayoutSource(root, "helm"), sink, name=HELM, platforms=[ARM64, RISCV64], keep_index=True)
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    return sink


def _ls(ctd, ns) -> dict[str, tuple[str, str]]:
    out = ctd.ctr("images", "ls", namespace=ns).stdout.splitlines()[1:]
    return {f[0]: (f[1], f[2]) for f in (line.split() for line in out)}


def test_suffixes(tmp_path):
    assert compression_for(tmp_path / "a.tar") is None
    assert compression_for(tmp_path / "a.tar.gz") == compression_for(tmp_path / "a.tgz") == "gzip"
    assert compression_for(tmp_path / "a.tar.zst") == compression_for(tmp_path / "a.tzst") == "zstd"
    with pytest.raises(BadInput, match=r"unknown archive suffix; use one of .tar, .tar.gz, .tgz, .tar.zst, .tzst"):
        AirgapSink(tmp_path / "images.zip")
    assert isinstance(AirgapSink(tmp_path / "x.tar"), Sink)


def test_containerd_imports_every_image_under_its_full_name(upstream, tmp_path, containerd):
    root, tagged = upstream
    out = tmp_path / "images.tar.zst"
    sink = _write(out, upstream)
    # k3s decompresses itself, with a 32 MiB window limit; then containerd imports
    plain = tmp_path / "images.tar"
    with open(out, "rb") as f, open(plain, "wb") as o:
        zstandard.ZstdDecompressor(max_window_size=K3S_ZSTD_WINDOW).copy_stream(f, o)

    pause_top = tagged["pause"][0]
    coredns_rv = next(i for i in tagged["coredns"][1] if i.platform[1] == "riscv64").manifest
    helm = next(i for i in sink.summary()["images"] if i["name"].endswith("klipper-helm:v0.7.3"))
    assert helm["narrowed"] == "new-index"
    want = {
        "docker.io/rancher/mirrored-pause:3.6": (I.OCI_INDEX, pause_top.digest),
        # one platform kept: the platform's own manifest, with its registry digest
        "docker.io/rancher/mirrored-coredns-coredns:1.9.1": (I.OCI_MANIFEST, coredns_rv.digest),
        "docker.io/rancher/klipper-helm:v0.7.3": (I.OCI_INDEX, helm["digest"]),
    }
    # the way k3s imports (WithAllPlatforms), and the way a board unpacks
    for flags in (["--all-platforms", "--no-unpack"], ["--platform", "linux/riscv64"]):
        ns = containerd.fresh_namespace()
        containerd.ctr("images", "import", *flags, str(plain), namespace=ns)
        assert _ls(containerd, ns) == want, flags


def test_index_json_and_manifest_json(upstream, tmp_path):
    root, tagged = upstream
    out = tmp_path / "images.tar"
    _write(out, upstream)
    with tarfile.open(out) as t:
        names = t.getnames()
        index = json.load(t.extractfile("index.json"))
        docker = json.load(t.extractfile("manifest.json"))
    assert names[:3] == ["oci-layout", "index.json", "manifest.json"]
    assert [e["annotations"] for e in index["manifests"]] == [
        {"io.containerd.image.name": "docker.io/rancher/mirrored-pause:3.6", "org.opencontainers.image.ref.name": "3.6"},
        {"io.containerd.image.name": "docker.io/rancher/mirrored-coredns-coredns:1.9.1",
         "org.opencontainers.image.ref.name": "1.9.1"},
        {"io.containerd.image.name": "docker.io/rancher/klipper-helm:v0.7.3",
         "org.opencontainers.image.ref.name": "v0.7.3"},
    ]
    # manifest.json: one platform per image, the first one present in the archive
    amd64 = tagged["pause"][1][0]
    assert docker[0] == {"Config": f"blobs/sha256/{amd64.config.digest[7:]}",
                         "RepoTags": ["docker.io/rancher/mirrored-pause:3.6"],
                         "Layers": [f"blobs/sha256/{b.digest[7:]}" for b in amd64.layers]}
    # skopeo reads both views of the same file
    got = json.loads(skopeo.raw(f"docker-archive:{out}:{PAUSE}"))
    assert got["config"]["digest"] == amd64.config.digest
    raw = skopeo.raw(f"oci-archive:{out}:3.6")
    assert raw == tagged["pause"][0].data


def test_zstd_window_and_checksum(upstream, tmp_path):
    out = tmp_path / "images.tzst"
    _write(out, upstream, level=19)  # high levels default to large windows: ours stays capped
    head = out.read_bytes()[:14]
    assert head[:4] == b"\x28\xb5\x2f\xfd"
    fhd = head[4]
    if fhd & 0x20:  # single segment: the window is the content size
        size_bytes = {0: 1, 1: 2, 2: 4, 3: 8}[fhd >> 6]
        dict_bytes = {0: 0, 1: 1, 2: 2, 3: 4}[fhd & 3]
        window = int.from_bytes(head[5 + dict_bytes:5 + dict_bytes + size_bytes], "little")
    else:  # RFC 8878 3.1.1.1.2: Window_Descriptor
        wd = head[5]
        base = 1 << (10 + (wd >> 3))
        window = base + (base >> 3) * (wd & 7)
    assert window <= K3S_ZSTD_WINDOW
    zstandard.ZstdDecompressor(max_window_size=K3S_ZSTD_WINDOW).decompressobj().decompress(out.read_bytes())
    check = subprocess.run(["sha256sum", "-c", "images.tzst.sha256"], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.strip() == "images.tzst: OK"


def test_gzip_archive(upstream, tmp_path):
    out = tmp_path / "images.tar.gz"
    _write(out, upstream)
    with tarfile.open(fileobj=gzip.open(out)) as t:
        assert "index.json" in t.getnames()


def test_incomplete_image_leaves_nothing(upstream, tmp_path):
    root, tagged = upstream
    out = tmp_path / "images.tar"
    out.write_bytes(b"an older archive")
    sink = AirgapSink(out)
    src = LayoutSource(root, "pause")
    top = src.resolve()
    child = src.manifest(top.manifests[0])
    sink.put_blob(child.config, lambda: src.open_blob(child.config))  # the layers never come
    sink.put_manifest(child)
    sink.put_manifest(top)
    sink.tag(top, PAUSE)
    with pytest.raises(ArchportError, match=r"lacks 2 blob\(s\)"):
        sink.commit()
    sink.abort()
    assert out.read_bytes() == b"an older archive"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images.tar", "up"]


def test_tag_needs_a_name(tmp_path, upstream):
    root, _ = upstream
    sink = AirgapSink(tmp_path / "x.tar")
    with pytest.raises(BadInput, match="full image name"):
        transfer(LayoutSource(root, "pause"), sink, name=None)
    sink.abort()


def test_memory_does_not_grow_with_layer_size(tmp_path):
    import tracemalloc

    big = I.big_layer(tmp_path / "big", 40 << 20)
    img = I.make_image("linux/riscv64", [big])
    root = I.write_layout(tmp_path / "up", {"big": (img.manifest, [img])})
    tracemalloc.start()
    try:
        sink = AirgapSink(tmp_path / "big.tar.zst")
        transfer(LayoutSource(root, "big"), sink, name=PAUSE)
        sink.commit()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 6 << 20, peak
