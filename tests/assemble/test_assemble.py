import gzip
import io
import json
import tarfile

import pytest

from archport.assemble.image import Base, CONTRACT_KEYS, History, assemble, provenance
from archport.assemble.layer import FileSpec
from archport.errors import BadInput
from archport.oci import Digest, mediatypes as mt
from archport.oci.config import parse_config
from archport.platform import RISCV64, Platform

from standins import skopeo

from .buildsink import MemorySource, RecordingSink

REFERENCE = {
    "architecture": "amd64",
    "os": "linux",
    "config": {
        "Entrypoint": ["/coredns"],
        "Cmd": ["-conf", "/etc/coredns/Corefile"],
        "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"],
        "User": "65532",
        "WorkingDir": "/",
        "ExposedPorts": {"53/tcp": {}, "53/udp": {}},
        "Volumes": {"/data": {}},
        "Labels": {"org.opencontainers.image.title": "coredns"},
        "StopSignal": "SIGTERM",
        "Healthcheck": {"Test": ["CMD", "/coredns", "-version"]},
    },
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]},
}


def go_file(go_bins, name="riscv64", path="/coredns"):
    return FileSpec(path, source=str(go_bins[name]), mode=0o755)


def build(go_bins, **kw):
    args = dict(platform=RISCV64, family="oci", reference_config=REFERENCE,
                annotations=provenance(source="https://example.com/coredns", version="1.9.1",
                                       revision="abc123", strategy="go", changes=["golang.org/x/net v0.0.1 -> v0.1.0"]),
                history=History(kw.pop("created", 0), "rebuilt for linux/riscv64"))
    args.update(kw)
    files = args.pop("files", [go_file(go_bins)])
    return assemble(args.pop("base", None), files, **args)


def test_scratch_image_config_and_manifest(go_bins):
    b = build(go_bins)
    cfg = json.loads(b.config)
    assert (cfg["os"], cfg["architecture"]) == ("linux", "riscv64") and "variant" not in cfg
    assert cfg["created"] == "1970-01-01T00:00:00Z"
    for k in CONTRACT_KEYS:
        assert cfg["config"][k] == REFERENCE["config"][k]
    assert "Healthcheck" not in cfg["config"]
    assert cfg["rootfs"] == {"type": "layers", "diff_ids": [str(_diff_id(b.layers[0].data))]}
    assert cfg["history"] == [{"created": "1970-01-01T00:00:00Z", "created_by": "archport",
                               "comment": "rebuilt for linux/riscv64"}]
    m = b.manifest
    assert m.media_type == mt.OCI_MANIFEST and m.config.media_type == mt.OCI_CONFIG
    assert [d.media_type for d in m.layers] == [mt.OCI_LAYER_GZIP]
    assert m.config.digest == Digest.of(b.config)
    assert dict(m.annotations) == {
        "org.opencontainers.image.source": "https://example.com/coredns",
        "org.opencontainers.image.version": "1.9.1",
        "org.opencontainers.image.revision": "abc123",
        "io.archport.strategy": "go",
        "io.archport.changes": "golang.org/x/net v0.0.1 -> v0.1.0",
    }
    assert b.descriptor().platform == RISCV64


def _diff_id(blob: bytes) -> Digest:
    return Digest.of(gzip.decompress(blob))


def test_same_inputs_twice_same_digest(go_bins, tmp_path):
    a = build(go_bins)
    b = build(go_bins)
    (tmp_path / "w1").mkdir()
    (tmp_path / "w2").mkdir()
    c = build(go_bins, workdir=str(tmp_path / "w1"))
    d = build(go_bins, workdir=str(tmp_path / "w2"))
    assert a.manifest.digest == b.manifest.digest == c.manifest.digest == d.manifest.digest
    assert open(c.layers[0].path, "rb").read() == a.layers[0].data
    assert list((tmp_path / "w1").iterdir()) == [tmp_path / "w1" / f"sha256-{a.manifest.layers[0].digest.hex}.tar.gz"]
    # and an input change shows
    assert build(go_bins, created=1).manifest.digest != a.manifest.digest


def test_docker_family(go_bins):
    b = build(go_bins, family="docker")
    assert b.manifest.media_type == mt.DOCKER_MANIFEST
    assert b.manifest.config.media_type == mt.DOCKER_CONFIG
    assert [d.media_type for d in b.manifest.layers] == [mt.DOCKER_LAYER_GZIP]


def test_wrong_architecture_is_refused_naming_both(go_bins):
    with pytest.raises(BadInput, match=r"/coredns: binary is for amd64 .*image is for linux/riscv64"):
        build(go_bins, files=[go_file(go_bins, "amd64-trimpath")])
    with pytest.raises(BadInput, match=r"binary is for arm64"):
        build(go_bins, files=[FileSpec("x", data=go_bins["arm64"].read_bytes())])


def test_malformed_elf_in_files_is_bad_input(go_bins):
    with pytest.raises(BadInput, match=r"/bin/x: malformed ELF"):
        build(go_bins, files=[FileSpec("/bin/x", data=go_bins["riscv64"].read_bytes()[:50])])


def test_arm_variant_is_kept(go_bins):
    b = build(go_bins, files=[go_file(go_bins, "armv7")], platform=Platform("linux", "arm", "v7"))
    cfg = json.loads(b.config)
    assert (cfg["architecture"], cfg["variant"]) == ("arm", "v7")


def test_layer_content(go_bins):
    b = build(go_bins, files=[go_file(go_bins), FileSpec("/etc/coredns/Corefile", data=b". {\n}\n")])
    with tarfile.open(fileobj=io.BytesIO(b.layers[0].data)) as t:
        names = t.getnames()
        assert t.getmember("coredns").mode == 0o755
    assert names == ["coredns", "etc", "etc/coredns", "etc/coredns/Corefile"]


def _base(go_bins, family="docker"):
    """A base image built by us, then seen only through its manifest, config and blobs."""
    base = assemble(None, [FileSpec("/bin/sh", data=b"#!fake\n", mode=0o755)], platform=RISCV64, family=family,
                    reference_config={"Env": ["PATH=/bin"]})
    blobs = {str(base.manifest.layers[0].digest): base.layers[0].data}
    doc = json.loads(base.config)
    doc["config"]["OnBuild"] = ["RUN x"]         # a non-contract field only a base has
    doc["container_config"] = {"Cmd": ["/bin/sh"]}
    return Base(base.manifest, parse_config(json.dumps(doc).encode()), MemorySource(blobs))


def test_on_a_base_layers_and_config_carry_over(go_bins, tmp_path):
    base = _base(go_bins)
    b = build(go_bins, base=base)
    assert [d.digest for d in b.manifest.layers][:1] == [base.manifest.layers[0].digest]
    # A docker base's layers are relabelled for an OCI manifest (same bytes).
    assert [d.media_type for d in b.manifest.layers] == [mt.OCI_LAYER_GZIP, mt.OCI_LAYER_GZIP]
    cfg = json.loads(b.config)
    assert cfg["rootfs"]["diff_ids"][0] == base.config.diff_ids[0]
    assert len(cfg["rootfs"]["diff_ids"]) == 2 and len(cfg["history"]) == 2
    assert cfg["config"]["OnBuild"] == ["RUN x"]                      # base's, not contract
    assert "container_config" not in cfg                              # how the base was built
    assert cfg["config"]["Env"] == REFERENCE["config"]["Env"]         # reference wins
    assert b.manifest.annotations["org.opencontainers.image.base.digest"] == str(base.manifest.digest)
    # No reference config: the base's contract is kept.
    kept = json.loads(build(go_bins, base=base, reference_config=None).config)
    assert kept["config"]["Env"] == ["PATH=/bin"]


def test_base_of_another_platform_is_refused(go_bins):
    base = _base(go_bins)
    with pytest.raises(BadInput, match="base image is linux/riscv64, but the image is for linux/arm64"):
        build(go_bins, base=base, platform=Platform("linux", "arm64"), files=[go_file(go_bins, "arm64")])


def test_config_only_change_adds_an_empty_layer_history(go_bins):
    base = _base(go_bins)
    b = build(go_bins, base=base, files=[])
    assert b.layers == () and len(b.manifest.layers) == 1
    assert json.loads(b.config)["history"][-1]["empty_layer"] is True


def test_bad_family_and_time(go_bins):
    with pytest.raises(BadInput, match="family"):
        build(go_bins, family="oci-archive")
    with pytest.raises(BadInput, match="before 1970"):
        build(go_bins, created=-1)


def _skopeo(*args) -> str:
    return skopeo.skopeo(*args).stdout.decode()


def test_written_image_passes_skopeo(go_bins, tmp_path):
    base = _base(go_bins, family="oci")
    b = build(go_bins, base=base, workdir=str(tmp_path))
    sink = RecordingSink(tmp_path / "layout")
    statuses = b.write(sink, tag="v1")
    assert sink.calls[-2:] == ["manifest", "tag v1"]
    assert sink.calls[:3] == [f"blob {mt.OCI_LAYER_GZIP}"] * 2 + [f"blob {mt.OCI_CONFIG}"]
    assert base.source.opened == [str(base.manifest.layers[0].digest)]
    assert [s for _, s in statuses] == ["uploaded"] * 3
    loc = f"oci:{tmp_path / 'layout'}:v1"
    assert _skopeo("inspect", "--raw", loc).encode() == b.manifest.raw
    assert json.loads(_skopeo("inspect", "--config", "--raw", loc)) == json.loads(b.config)
    # A copy verifies every blob against its digest.
    _skopeo("copy", "--quiet", loc, f"oci:{tmp_path / 'copy'}:v1")
    assert _skopeo("inspect", "--raw", f"oci:{tmp_path / 'copy'}:v1").encode() == b.manifest.raw
    # Writing again finds everything there.
    again = b.write(sink, tag="v1")
    assert [s for _, s in again] == ["exists"] * 3


def test_reference_config_forms(go_bins):
    as_value = build(go_bins, reference_config=parse_config(json.dumps(REFERENCE).encode()))
    assert as_value.manifest.digest == build(go_bins).manifest.digest
    as_section = build(go_bins, reference_config=REFERENCE["config"])
    assert as_section.manifest.digest == build(go_bins).manifest.digest
    null = json.loads(build(go_bins, reference_config={"config": None, "os": "linux"}).config)
    assert null["config"] == {}


def test_a_built_image_is_a_source(go_bins, tmp_path):
    """The copier reads a built image directly: no temporary layout between."""
    from archport.copy import copy_image
    from archport.errors import DigestMismatch
    from archport.layout import LayoutSink
    from archport.store import Source
    base = _base(go_bins, family="oci")
    b = build(go_bins, base=base, workdir=str(tmp_path))
    src = b.source()
    assert isinstance(src, Source) and src.resolve() is b.manifest
    r = copy_image(src, LayoutSink(tmp_path / "out", "v1"))
    assert r.digest == str(b.manifest.digest) and r.blobs == {"uploaded": 3}
    loc = f"oci:{tmp_path / 'out'}:v1"
    assert _skopeo("inspect", "--raw", loc).encode() == b.manifest.raw
    _skopeo("copy", "--quiet", loc, f"oci:{tmp_path / 'copy'}:v1")   # verifies every blob
    # a layer file changed on disk after assembly is caught on the way out
    with open(b.layers[0].path, "r+b") as f:
        f.seek(10)
        f.write(b"\0\0\0\0")
    with pytest.raises(DigestMismatch):
        copy_image(src, LayoutSink(tmp_path / "bad", "v1"))
    assert not (tmp_path / "bad").exists()
