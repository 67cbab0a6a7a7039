"""A current release's files (k3s's packaged set of August 2026, the v1.37
gateway-api CRD chart, containerd 2.x's generated config.toml) read as the
v1.24.2 ones are: the same images and contracts come out, and the pause
image is found where containerd's version 3 schema puts it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from archport.audit.inventory import HELM_JOB, HELMCHART, MANIFEST, PAUSE, RELEASE, SERVICELB, inventory
from archport.catalog.loader import load
from archport.catalog.provenance import Provenance
from archport.catalog.releases import K3sRelease
from archport.errors import BadInput
from archport.k3s import containerd, containers, helm, load_documents, using_image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "k3s"
CURRENT = FIXTURES / "current-2026-08"
MANIFESTS = CURRENT / "server-manifests"
IMAGES = tuple(line.strip().removeprefix("docker.io/") for line in (CURRENT / "k3s-images.txt").read_text().splitlines()
               if line.strip())
# The four whose tags offer linux/riscv64 upstream and the four that do not
# (the fixture's README, from the projects' build configurations).
HAVE = {"rancher/klipper-helm", "rancher/local-path-provisioner", "rancher/mirrored-coredns-coredns",
        "rancher/mirrored-library-traefik"}


def _release() -> K3sRelease:
    return K3sRelease("v1.36.4+k3s1", "v1.36.4", IMAGES, (),
                      Provenance("https://github.com/k3s-io/k3s/blob/master/scripts/airgap/image-list.txt", False,
                                 "the test fixture's k3s-images.txt"))


@pytest.fixture(scope="module")
def docs():
    return load_documents(MANIFESTS)


def test_the_contracts_the_current_manifests_rely_on(docs):
    found = containers(docs)
    (coredns,) = using_image(found, "rancher/mirrored-coredns-coredns:1.14.6")
    assert coredns.command is None and coredns.args == ("-conf", "/etc/coredns/Corefile")
    (lpp,) = using_image(found, "rancher/local-path-provisioner:v0.0.37")
    assert lpp.command[:2] == ("local-path-provisioner", "start") and lpp.args is None
    (helper,) = using_image(found, "rancher/mirrored-library-busybox:1.37.0")
    assert helper.command == ("/bin/sh", "/script/setup")           # the helper pod, read from its ConfigMap
    (ms,) = using_image(found, "rancher/mirrored-metrics-server:v0.9.0")
    assert ms.command is None and "--cert-dir=/tmp" in ms.args
    charts = {c.name: [i.image for i in helm.images(c)] for c in helm.charts(docs)}
    assert charts == {"traefik-crd": [], "traefik": ["rancher/mirrored-library-traefik:3.7.8"]}


def test_the_node_needs_exactly_the_eight_images_of_the_list(docs):
    inv = inventory(release=_release(), catalog=load(), config={}, documents=docs)
    familiar = [n.familiar for n in inv.needs]
    assert sorted(familiar) == sorted(IMAGES) and len(familiar) == 8, familiar
    kinds = {n.familiar: set(n.kinds) for n in inv.needs}
    assert kinds["rancher/mirrored-pause:3.10.2"] == {PAUSE}
    assert kinds["rancher/klipper-lb:v0.4.17"] == {SERVICELB}
    assert {HELM_JOB, RELEASE} <= kinds["rancher/klipper-helm:v0.13.3-build20260727"]
    assert {MANIFEST, RELEASE} <= kinds["rancher/mirrored-metrics-server:v0.9.0"]
    assert {HELMCHART, RELEASE} <= kinds["rancher/mirrored-library-traefik:3.7.8"]
    # every one is a catalog component, and the catalog says which offer riscv64
    cat = load()
    for image in IMAGES:
        repo, _, tag = image.rpartition(":")
        contract = cat.component(image).contract(tag)
        assert contract is not None, image
        assert ("linux/riscv64" in contract.upstream_platforms) == (repo in HAVE), (image, contract.upstream_platforms)


def test_v1_37_gateway_api_crds_run_klipper_helm_even_with_traefik_disabled(tmp_path):
    shutil.copytree(MANIFESTS, tmp_path / "manifests")
    shutil.copy(FIXTURES / "gateway-api" / "gateway-api-crd.yaml", tmp_path / "manifests")
    docs = load_documents(tmp_path / "manifests")
    inv = inventory(release=_release(), catalog=load(), config={"disable": ["traefik"]}, documents=docs)
    needs = {n.familiar: n for n in inv.needs}
    assert "rancher/mirrored-library-traefik:3.7.8" not in needs
    job = needs["rancher/klipper-helm:v0.13.3-build20260727"]
    assert any(k == HELM_JOB and "HelmChart kube-system/gateway-api-crd install job" in why
               for k, why in job.reasons), job.reasons
    assert not any("traefik" in why for _k, why in job.reasons if _k == HELM_JOB), job.reasons


def test_containerd_2_config_v3_puts_the_pause_image_under_pinned_images():
    cfg = containerd.parse((FIXTURES / "containerd" / "config-v3.toml").read_text(), "config.toml")
    assert cfg.version == 3
    assert cfg.sandbox_image == "rancher/mirrored-pause:3.10.2"
    assert cfg.sandbox_key == "plugins.'io.containerd.cri.v1.images'.pinned_images.sandbox"
    assert cfg.config_path == "/var/lib/rancher/k3s/agent/etc/containerd/certs.d"
    assert cfg.mirrors == () and cfg.notes == ()


def test_containerd_config_v2_keeps_sandbox_image_and_inline_mirrors():
    cfg = containerd.parse((FIXTURES / "containerd" / "config-v2.toml").read_text())
    assert (cfg.version, cfg.sandbox_image) == (2, "rancher/mirrored-pause:3.6")
    assert cfg.sandbox_key == 'plugins."io.containerd.grpc.v1.cri".sandbox_image'
    assert cfg.config_path == "" and cfg.mirrors == ("docker.io",)


def test_a_version_2_key_left_in_a_version_3_file_is_named_not_read():
    text = (FIXTURES / "containerd" / "config-v3.toml").read_text().replace(
        "sandbox = \"rancher/mirrored-pause:3.10.2\"", "") + \
        "\n[plugins.'io.containerd.grpc.v1.cri'.x]\n"
    text = text.replace("stream_server_port = \"10010\"",
                        "stream_server_port = \"10010\"\n  sandbox_image = \"example.test/pause:1\"")
    cfg = containerd.parse(text)
    assert cfg.sandbox_image == "" and cfg.sandbox_key == ""
    assert len(cfg.notes) == 1 and "version 2 key" in cfg.notes[0] and "pinned_images.sandbox" in cfg.notes[0]


@pytest.mark.parametrize("text, said", [("version = [", "not a TOML file"), ("version = 4\n", "is not 1, 2 or 3")])
def test_bad_containerd_configs_are_bad_input(text, said):
    with pytest.raises(BadInput, match=said):
        containerd.parse(text, "node/config.toml")
