"""Build records of real ports: the go strategy rebuilding the fixture
module from the fixture proxy, the release strategy from a loopback site;
the port completes each record from the image it built, and spdx-tools
validates the SBOM made from it."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from archport.attest import make
from archport.binaries.buildinfo import read_buildinfo
from archport.catalog import versions
from archport.catalog.loader import extend, load
from archport.platform import parse as parse_platform
from archport.port.record import build_record
from archport.strategies.gobuild import GoStrategy
from archport.strategies.release import ReleaseStrategy
from tests.strategies.helpers import env, tiny_elf, upstream
from tests.strategies.test_release import _component, _publish, site  # noqa: F401  (fixture)
from tests.support import goproxy
from tests.support.port import HELLO_CATALOG, go_env_value

from .test_sbom import validate

RISCV = parse_platform("linux/riscv64")


def _port_hello(tmp):
    proxy = goproxy.build(tmp / "goproxy")
    go_env = {"PATH": "/usr/local/go/bin:/usr/bin:/bin", "HOME": str(tmp), "GOPROXY": f"file://{proxy}",
              "GONOSUMDB": "example.test", "GOMODCACHE": go_env_value("GOMODCACHE"),
              "GOCACHE": go_env_value("GOCACHE"), "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    catalog = extend(load(), "hello.toml", HELLO_CATALOG)
    up = upstream("rancher/mirrored-example-hello:v1.2.3", catalog.component("example-hello"),
                  {"Entrypoint": ["/hello"]}, catalog)
    e = env(tmp, go_env=go_env, catalog=catalog)
    outcome = GoStrategy().build(up, RISCV, e)
    return up, outcome


@pytest.fixture(scope="module")
def hello_port(tmp_path_factory):
    return _port_hello(tmp_path_factory.mktemp("hello-port"))


def test_a_second_port_gives_byte_identical_attachments(hello_port, tmp_path):
    """Another run, in another work directory, with a module cache of its own
    state: the same image, the same SBOM and provenance bytes."""
    first = hello_port
    second = _port_hello(tmp_path)
    made = [make.attachments(build_record(up, out, RISCV, "rva20u64"), str(out.built.manifest.digest),
                             "127.0.0.1:5000/hello") for up, out in (first, second)]
    assert first[1].built.manifest.digest == second[1].built.manifest.digest
    assert made[0] == made[1]


def test_a_go_port_records_what_it_linked(hello_port):
    up, outcome = hello_port
    record = build_record(up, outcome, RISCV, "rva20u64")
    assert record.strategy == "go" and record.platform == "linux/riscv64" and record.isa_profile == "rva20u64"
    assert record.upstream == f"docker.io/rancher/mirrored-example-hello@{up.top.digest}"
    assert record.upstream_tag == "v1.2.3" and record.catalog_entry == "example-hello"
    assert record.builder.go.startswith("go1.") and record.builder.archport
    assert [f.entry for f in record.fixups] == ["netx-linkname-recvmsg"]
    assert record.fixups[0].modules == ("example.test/netx@v0.1.0",)
    (binary,) = record.materials.go_binaries
    # Go >= 1.24 stamps the tagged version (tests/attest/test_go_version.py)
    assert binary.path == "/hello"
    assert binary.main.version == ("v1.2.3+dirty" if versions.parse_go(record.builder.go) >= versions.parse_go("1.24")
                                   else "(devel)")
    assert [(d.path, d.version) for d in binary.deps] == [("example.test/netx", "v0.1.0")]
    assert [f.path for f in record.materials.files] == ["/hello"]
    assert record.created == json.loads(outcome.built.config)["created"]


def test_the_sbom_of_a_real_port_validates_and_names_the_fixup(hello_port):
    up, outcome = hello_port
    record = build_record(up, outcome, RISCV, "rva20u64")
    sbom, prov = make.attachments(record, str(outcome.built.manifest.digest), "127.0.0.1:5000/hello")
    doc = validate(sbom.data)
    netx = next(p for p in doc.packages if p.name == "example.test/netx")
    assert netx.version == "v0.1.0" and "netx-linkname-recvmsg" in netx.comment
    deps = json.loads(prov.data)["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert any(d["uri"] == "pkg:golang/example.test/netx@v0.1.0" for d in deps)
    # the same port's record again: the same bytes
    again = make.attachments(build_record(up, outcome, RISCV, "rva20u64"), str(outcome.built.manifest.digest),
                             "127.0.0.1:5000/hello")
    assert again == (sbom, prov)


def test_the_image_files_match_what_the_binary_says(hello_port):
    up, outcome = hello_port
    record = build_record(up, outcome, RISCV, "rva20u64")
    blob = outcome.built.layers[0]
    with blob.opener()() as chunks:
        raw = b"".join(chunks)
    import gzip
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)) as tar:
        member = next(m for m in tar if m.name.lstrip("./") == "hello")
        body = tar.extractfile(member).read()
    (f,) = [f for f in record.materials.files if f.path == "/hello"]
    assert f.digest == "sha256:" + hashlib.sha256(body).hexdigest()
    assert f.sha1 == hashlib.sha1(body).hexdigest()
    assert read_buildinfo(body).main.version == record.materials.go_binaries[0].main.version


def test_a_release_port_records_the_asset_and_its_checksum(site, tmp_path):  # noqa: F811
    root, srv = site
    data = _tgz_one("coredns", tiny_elf("riscv64"))
    _publish(root, data, f"{hashlib.sha256(data).hexdigest()}  coredns_1.11.1_linux_riscv64.tgz\n")
    up = upstream("rancher/mirrored-coredns-coredns:1.11.1", _component(srv.url), {"Entrypoint": ["/coredns"]})
    outcome = ReleaseStrategy().build(up, RISCV, env(tmp_path))
    record = build_record(up, outcome, RISCV, "rva20u64")
    (asset,) = record.materials.assets
    assert asset.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert asset.checksum_source.endswith(".sha256") and asset.url.endswith("coredns_1.11.1_linux_riscv64.tgz")
    assert record.catalog_entry == "coredns" and record.materials.go_binaries == ()
    validate(make.attachments(record, str(outcome.built.manifest.digest), "127.0.0.1:5000/coredns")[0].data)


def _tgz_one(member: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        ti = tarfile.TarInfo(member)
        ti.size, ti.mode = len(data), 0o755
        tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_a_mirrored_image_names_the_image_it_copied():
    from archport.strategies import Outcome
    from archport.strategies.recorded import mirror_record
    digest = "sha256:" + "c" * 64
    up = upstream("rancher/mirrored-library-busybox:1.36", None, {"Entrypoint": ["/bin/sh"]})
    outcome = Outcome("mirror", "copied", record=mirror_record("127.0.0.1:5000/library/busybox:1.36", digest))
    record = build_record(up, outcome, RISCV, "rva20u64")
    assert record.materials.sources == (f"oci://127.0.0.1:5000/library/busybox:1.36#{digest}",)
    assert record.materials.files == () and record.catalog_entry == ""
    sbom, prov = make.attachments(record, digest, "127.0.0.1:5000/k3s/busybox")
    validate(sbom.data)
    deps = json.loads(prov.data)["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert {"uri": "oci://127.0.0.1:5000/library/busybox:1.36", "digest": {"sha256": "c" * 64}} in deps


def test_layers_are_read_in_order_with_links_and_removals():
    from archport.assemble.image import Blob
    from archport.oci.descriptor import Descriptor
    from archport.port.record import scan_layers

    def layer(*members) -> Blob:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, kind, body in members:
                ti = tarfile.TarInfo(name)
                if kind == "file":
                    ti.size = len(body)
                    tar.addfile(ti, io.BytesIO(body))
                else:
                    ti.type, ti.linkname = (tarfile.LNKTYPE if kind == "link" else tarfile.SYMTYPE), body
                    tar.addfile(ti)
        data = buf.getvalue()
        return Blob(Descriptor("application/vnd.oci.image.layer.v1.tar", "sha256:" + hashlib.sha256(data).hexdigest(),
                               len(data)), data=data)

    files, binaries = scan_layers([layer(("./a", "file", b"one"), ("b", "file", b"two")),
                                   layer(("a", "file", b"three"), ("c", "link", "a"), ("b", "sym", "a"))])
    by = {f.path: f.digest for f in files}
    assert by == {"/a": "sha256:" + hashlib.sha256(b"three").hexdigest(),
                  "/c": "sha256:" + hashlib.sha256(b"three").hexdigest()}
    assert binaries == ()


def test_a_substitution_says_what_instead_of_what():
    from archport.strategies.recorded import substitution_of
    from archport.toolchain.gocompile import Recipe
    r = Recipe("example.test/hello", "v1.2.4", "example.test/hello", "", (), "/hello", "test",
               substituted="/hello: built example.test/hello@v1.2.4 instead of v1.2.3", instead_of="v1.2.3")
    (sub,) = substitution_of(r)
    assert (sub.name, sub.wanted, sub.used) == ("example.test/hello", "v1.2.3", "v1.2.4") and "instead" in sub.why
    assert substitution_of(Recipe("m", "v1", "m", "", (), "/m", "test")) == ()


def test_fixup_steps_become_entries_with_the_linked_versions():
    from archport.strategies.recorded import carried_files, fixups_of
    from archport.assemble.layer import FileSpec
    from archport.toolchain.fixups import Step
    steps = [Step("netx", "require", "example.test/netx", "v0.0.1", "v0.1.0", "proactive: go >= 1.23"),
             Step("linkname", "ldflags", new="-checklinkname=0", why="reactive: link error")]
    got = fixups_of(steps)
    assert [(f.entry, f.modules) for f in got] == [("linkname", ()), ("netx", ("example.test/netx@v0.1.0",))]
    assert "v0.0.1 -> v0.1.0" in got[1].note
    specs = [FileSpec("etc/x", data=b"x"), FileSpec("etc/d", kind="dir")]
    assert [c.path for c in carried_files(specs, {"etc/x": "sha256:" + "1" * 64, "etc/d": "sha256:" + "2" * 64})] \
        == ["/etc/x"]
