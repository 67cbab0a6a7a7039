"""mirror: the alternative publisher is a real registry on 127.0.0.1, reached as
a pull mirror of docker.io (the image names stay familiar; no traffic leaves loopback)."""

from __future__ import annotations

import itertools

import pytest

from archport.platform import parse as parse_platform
from archport.registry import HostOptions
from archport.strategies import NotPortable
from archport.strategies.mirror import Mirror
from standins import images as im

from .helpers import env, tiny_elf, upstream

RISCV = parse_platform("linux/riscv64")
UP_REF = "rancher/mirrored-coredns-coredns:{tag}"
NONROOT = {"Entrypoint": ["/coredns"], "User": "nonroot:nonroot", "ExposedPorts": {"53/tcp": {}, "53/udp": {}}}
_tags = itertools.count(1)


def _publish(reg, tmp_path, riscv_config: dict, riscv_binary: bytes, with_riscv: bool = True) -> tuple[str, str]:
    """Push coredns/coredns:<tag> (amd64 + maybe riscv64) to the loopback registry;
    returns (tag, riscv64 manifest digest)."""
    tag = f"1.11.{next(_tags)}"
    amd = im.make_image("linux/amd64", [im.layer_from_files({"coredns": (tiny_elf("amd64"), 0o755)})], config=NONROOT)
    imgs = [amd]
    digest = ""
    if with_riscv:
        rv = im.make_image("linux/riscv64", [im.layer_from_files({"coredns": (riscv_binary, 0o755)})], config=riscv_config)
        imgs.append(rv)
        digest = rv.manifest.digest
    layout = im.write_layout(tmp_path / f"layout-{tag}", {tag: (im.make_index(imgs), imgs)})
    im.push(layout, tag, f"{reg.host}/coredns/coredns:{tag}")
    return tag, digest


@pytest.fixture
def client(registry_plain):
    with registry_plain.client(options=HostOptions(mirrors={"docker.io": (registry_plain.host,)}, mirror_only=True)) as c:
        yield c


def test_alternative_with_the_same_contract_is_copied_as_is(registry_plain, client, tmp_path):
    tag, digest = _publish(registry_plain, tmp_path, NONROOT, tiny_elf("riscv64"))
    up = upstream(UP_REF.format(tag=tag), "coredns", NONROOT)
    e = env(tmp_path, registry=client)
    d = Mirror().consider(up, RISCV, e)
    assert d.applies and f"coredns/coredns:{tag}" in d.reason, d.reason
    out = Mirror().build(up, RISCV, e)
    assert out.strategy == "mirror" and out.built is None
    assert str(out.manifest.digest) == digest                    # digest-preserving: the same bytes
    assert out.source.name.endswith(f"coredns/coredns:{tag}")
    with out.source.open_blob(out.manifest.config) as chunks:
        assert b"riscv64" in b"".join(chunks)


def test_user_difference_is_named(registry_plain, client, tmp_path):
    tag, _ = _publish(registry_plain, tmp_path, NONROOT, tiny_elf("riscv64"))
    up = upstream(UP_REF.format(tag=tag), "coredns", {"Entrypoint": ["/coredns"]})   # upstream runs as root
    d = Mirror().consider(up, RISCV, env(tmp_path, registry=client))
    assert not d.applies
    assert "User: upstream (unset), alternative 'nonroot:nonroot'" in d.reason


def test_entrypoint_difference_is_named(registry_plain, client, tmp_path):
    tag, _ = _publish(registry_plain, tmp_path, {**NONROOT, "Entrypoint": ["/usr/bin/coredns"]}, tiny_elf("riscv64"))
    d = Mirror().consider(upstream(UP_REF.format(tag=tag), "coredns", NONROOT), RISCV, env(tmp_path, registry=client))
    assert not d.applies and "Entrypoint: upstream ['/coredns'], alternative ['/usr/bin/coredns']" in d.reason


def test_alternative_without_the_platform(registry_plain, client, tmp_path):
    tag, _ = _publish(registry_plain, tmp_path, NONROOT, b"", with_riscv=False)
    d = Mirror().consider(upstream(UP_REF.format(tag=tag), "coredns", NONROOT), RISCV, env(tmp_path, registry=client))
    assert not d.applies and "no linux/riscv64 entry (it offers linux/amd64)" in d.reason


def test_binary_of_the_wrong_architecture_fails_the_build(registry_plain, client, tmp_path):
    tag, _ = _publish(registry_plain, tmp_path, NONROOT, tiny_elf("amd64"))
    up = upstream(UP_REF.format(tag=tag), "coredns", NONROOT)
    e = env(tmp_path, registry=client)
    assert Mirror().consider(up, RISCV, e).applies                 # the configs agree...
    with pytest.raises(NotPortable, match="does not keep the contract"):
        Mirror().build(up, RISCV, e)                               # ...the layers do not


def test_catalog_names_no_alternative_for_old_versions(tmp_path):
    d = Mirror().consider(upstream(UP_REF.format(tag="1.9.1"), "coredns", NONROOT), RISCV, env(tmp_path))
    assert not d.applies and "names no other publisher" in d.reason


def test_build_uses_what_consider_read(registry_plain, client, tmp_path, monkeypatch):
    """consider reads the alternative's manifest and config once; build gets them in the plan."""
    tag, digest = _publish(registry_plain, tmp_path, NONROOT, tiny_elf("riscv64"))
    up = upstream(UP_REF.format(tag=tag), "coredns", NONROOT)
    e = env(tmp_path, registry=client)
    mirror = Mirror()
    d = mirror.consider(up, RISCV, e)
    assert d.applies
    monkeypatch.setattr(Mirror, "_resolve", lambda *a: pytest.fail("build read the alternative again"))
    out = mirror.build(up, RISCV, e, d)
    assert str(out.manifest.digest) == digest


def test_a_source_built_above_the_profile_is_refused_naming_binary_and_source(registry_plain, client, tmp_path,
                                                                              isa_programs):
    # coredns/coredns publishes riscv64, but its binary was built GORISCV64=rva22u64:
    # it dies with SIGILL on the RV64GC boards a default (rva20) port is for.
    tag, digest = _publish(registry_plain, tmp_path, NONROOT, isa_programs["go-rva22u64"].read_bytes())
    up = upstream(UP_REF.format(tag=tag), "coredns", NONROOT)
    e = env(tmp_path, registry=client)
    assert Mirror().consider(up, RISCV, e).applies                 # the configs agree...
    with pytest.raises(NotPortable) as refused:
        Mirror().build(up, RISCV, e)                               # ...the binary does not fit RVA20U64
    msg = str(refused.value)
    assert f"coredns/coredns:{tag} (linux/riscv64) needs more than RVA20U64" in msg
    assert "/coredns needs zba, zbb, zbs" in msg and "GORISCV64=rva22u64" in msg
    # raised on purpose, the same source fits
    out = Mirror().build(up, RISCV, env(tmp_path, registry=client, isa_profile="rva22u64"))
    assert str(out.manifest.digest) == digest


# -- an image that is a mirror of another: its riscv64 child, digest for digest ----------

BUSYBOX = {"Cmd": ["sh"]}


def _official_busybox(reg, tmp_path, with_riscv: bool) -> tuple[str, str]:
    """library/busybox:<tag> as the official image is shaped (a root file
    system on scratch, /bin/sh a link to busybox, CMD sh); returns (tag, the
    riscv64 child's digest)."""
    tag = f"1.37.{next(_tags)}"

    def image(arch):
        files = {"bin/busybox": (tiny_elf(arch), 0o755), "bin/sh": "->busybox"}
        return im.make_image(f"linux/{arch}", [im.layer_from_files(files)], config=BUSYBOX)

    imgs = [image("amd64")] + ([image("riscv64")] if with_riscv else [])
    layout = im.write_layout(tmp_path / f"busybox-{tag}", {tag: (im.make_index(imgs), imgs)})
    im.push(layout, tag, f"{reg.host}/library/busybox:{tag}")
    return tag, (str(imgs[1].manifest.digest) if with_riscv else "")


def test_a_mirror_takes_the_riscv64_child_of_the_image_it_mirrors(registry_plain, client, tmp_path):
    tag, digest = _official_busybox(registry_plain, tmp_path, with_riscv=True)
    up = upstream(f"rancher/mirrored-library-busybox:{tag}", "busybox", BUSYBOX)
    e = env(tmp_path, registry=client)
    d = Mirror().consider(up, RISCV, e)
    assert d.applies and f"library/busybox:{tag}" in d.reason, d.reason
    out = Mirror().build(up, RISCV, e, d)
    assert out.strategy == "mirror" and out.built is None
    assert str(out.manifest.digest) == digest                    # appended unchanged: the official digest
    assert any(f"is a mirror of library/busybox:{tag}" in n and "digest for digest" in n for n in out.notes), out.notes


def test_a_mirrored_image_without_the_platform_leaves_it_to_debian(registry_plain, client, tmp_path):
    tag, _ = _official_busybox(registry_plain, tmp_path, with_riscv=False)
    up = upstream(f"rancher/mirrored-library-busybox:{tag}", "busybox", BUSYBOX)
    d = Mirror().consider(up, RISCV, env(tmp_path, registry=client))
    assert not d.applies
    assert f"library/busybox:{tag}: no linux/riscv64 entry (it offers linux/amd64)" in d.reason, d.reason
