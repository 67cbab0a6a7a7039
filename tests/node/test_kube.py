"""The one model of the Kubernetes objects archport reads (node.kube)."""

import json

import pytest

from archport.node import kube
from tests.support.board import PODS, pod


def test_pods_from_kubectl_json_without_kinds():
    pods = kube.pods_from_json(json.dumps({"items": PODS}))
    assert [p.name for p in pods if p.pull_failing] == ["coredns-b96499967-x2x8b", "metrics-server-668d979685-9szb9"]
    assert [p.name for p in pods if p.creating] == ["svclb-traefik-7x9q2"]
    assert pods[0].images == ("rancher/mirrored-coredns-coredns:1.9.1",) and pods[0].waiting == ("ImagePullBackOff",)
    assert not pods[2].waiting and not pods[2].pull_failing and not pods[2].creating


def test_pods_from_json_refuses_what_is_not_an_object():
    with pytest.raises(ValueError):
        kube.pods_from_json("[]")
    with pytest.raises(ValueError):
        kube.pods_from_json("The connection to the server was refused")


def test_waiting_reasons_list_init_containers_first():
    doc = pod("p", "x/main:1", "ContainerCreating")
    doc["spec"]["initContainers"] = [{"name": "init", "image": "x/init:1"}]
    doc["status"]["initContainerStatuses"] = [{"name": "init", "state": {"waiting": {"reason": "ErrImagePull"}}}]
    p = kube.parse_pod(doc)
    assert p.waiting == ("ErrImagePull", "ContainerCreating") and p.pull_failing and not p.creating
    assert p.images == ("x/init:1", "x/main:1") and p.status == "Init:ErrImagePull"


def test_a_list_of_kinds_holds_helmcharts_too():
    chart = {"kind": "HelmChart", "apiVersion": "helm.cattle.io/v1",
             "metadata": {"namespace": "kube-system", "name": "traefik"},
             "spec": {"chart": "https://%{KUBERNETES_API}%/static/charts/traefik.tgz", "targetNamespace": "kube-system",
                      "jobImage": "rancher/klipper-helm:v0.7.3"}}
    node = {"kind": "Node", "metadata": {"name": "b"},
            "status": {"nodeInfo": {"architecture": "riscv64"}, "conditions": [{"type": "Ready", "status": "True"}]}}
    c = kube.parse_cluster({"kind": "List", "items": [chart, node, {"kind": "ConfigMap"}]})
    assert c.helmcharts == (kube.HelmChart("kube-system", "traefik", chart["spec"]["chart"], "", "", "kube-system",
                                           "rancher/klipper-helm:v0.7.3"),)
    assert c.nodes[0].ready and c.nodes[0].architecture == "riscv64" and c.extra_kinds == ("ConfigMap",)
