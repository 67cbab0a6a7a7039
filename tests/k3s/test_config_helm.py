"""config.yaml(.d) merging, pause image, system-default-registry, HelmChart values (pure)."""

import pytest

from archport.errors import BadInput
from archport.k3s import behaviour, config as C, helm
from archport.k3s.manifests import load_documents, parse_documents

from standins.shared import MANIFESTS


def test_dropins_replace_and_append():
    cfg = C.merge({"disable": "traefik", "pause-image": "a/pause:1"},
                  [{"disable+": ["servicelb"]}, {"pause-image": "b/pause:2"}])
    assert cfg["pause-image"] == "b/pause:2"
    assert C.disabled(cfg) == {"traefik", "servicelb"}


def test_disable_as_comma_string_no_deploy_and_flags():
    assert C.disabled({"disable": "traefik,metrics-server"}) == {"traefik", "metrics-server"}
    assert C.disabled({"no-deploy": ["servicelb"]}) == {"servicelb"}
    assert C.disabled({"disable-helm-controller": True}) == {"helm-controller"}
    assert C.servicelb_enabled({}) and not C.servicelb_enabled({"disable": ["servicelb"]})


def test_pause_image_default_explicit_and_system_registry():
    assert C.pause_image({}, "rancher/mirrored-pause:3.6") == ("rancher/mirrored-pause:3.6",
                                                               "the release's default pause image")
    image, origin = C.pause_image({"pause-image": "reg.internal/pause:3.6"}, "rancher/mirrored-pause:3.6")
    assert image == "reg.internal/pause:3.6" and "config.yaml" in origin
    # k3s prefixes the system default registry, unless the image already starts with it
    sdr = {"system-default-registry": "reg.internal:5000"}
    assert C.pause_image(sdr, "rancher/mirrored-pause:3.6")[0] == "reg.internal:5000/rancher/mirrored-pause:3.6"
    assert C.pause_image({**sdr, "pause-image": "reg.internal:5000/p:1"}, None)[0] == "reg.internal:5000/p:1"


def test_traefik_helmchart_image_from_values():
    charts = {c.name: c for c in helm.charts(load_documents(MANIFESTS))}
    assert set(charts) == {"traefik", "traefik-crd"}
    imgs = helm.images(charts["traefik"])
    assert [(i.path, i.image) for i in imgs] == [("image", "rancher/mirrored-library-traefik:2.6.2")]
    assert helm.images(charts["traefik-crd"]) == []


def test_helmchartconfig_and_set_override_values():
    text = """
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata: {name: traefik, namespace: kube-system}
spec:
  jobImage: reg.internal/klipper-helm:v1
  set:
    global.systemDefaultRegistry: "reg.internal:5000"
  valuesContent: |-
    image: {name: rancher/mirrored-library-traefik, tag: "2.6.2"}
    sidecar:
      image: {repository: example/side}
---
apiVersion: helm.cattle.io/v1
kind: HelmChartConfig
metadata: {name: traefik, namespace: kube-system}
spec:
  valuesContent: |-
    image: {tag: "2.9.1"}
    extra: {image: "other.example.internal/x/y:1"}
"""
    [chart] = helm.charts(parse_documents([("traefik.yaml", text)]))
    assert chart.job_image == "reg.internal/klipper-helm:v1"
    got = {i.path: (i.image, i.note) for i in helm.images(chart)}
    assert got["image"][0] == "reg.internal:5000/rancher/mirrored-library-traefik:2.9.1"
    assert got["extra.image"][0] == "other.example.internal/x/y:1"
    assert got["sidecar.image"][0] is None and "appVersion" in got["sidecar.image"][1]


def test_bad_values_content_is_bad_input():
    text = "kind: HelmChart\nmetadata: {name: t}\nspec:\n  valuesContent: 'a: [b'\n"
    with pytest.raises(BadInput, match="valuesContent is not valid YAML"):
        helm.charts(parse_documents([("t.yaml", text)]))


def test_behaviour_data_per_version():
    b = behaviour.load()
    assert b.supports("registry-rewrite", "v1.24.2+k3s1") is True
    assert b.supports("registry-rewrite", "v1.20.15+k3s1") is False
    assert b.supports("registry-hosts-toml", "v1.27.9+k3s1") is False
    assert b.supports("registry-hosts-toml", "v1.27.10+k3s1") is True
    assert b.supports("registry-hosts-toml", "v1.30.0+k3s1") is True
    assert b.supports("registry-hosts-toml", "v1.25.16+k3s4") is False
    assert b.supports("registry-rewrite", None) is None
    for f in b.features:
        assert f.source.startswith("https://") and (f.verified or f.note)
    with pytest.raises(BadInput):
        behaviour.parse('[[feature]]\nname = "x"\nwhat = "y"\nsince = ["v1.2.3"]\nsource = "s"\nverified = false\n')
