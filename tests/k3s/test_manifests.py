"""k3s manifests → the command/args of the containers that run an image."""

from __future__ import annotations

import shutil

import pytest

from archport.errors import BadInput
from archport.k3s import containers, load_documents, using_image
from standins import shared

SHARED = shared.MANIFESTS


@pytest.fixture(scope="module")
def k3s_containers():
    return containers(load_documents(SHARED))


def test_local_path_provisioner_uses_command(k3s_containers):
    (c,) = using_image(k3s_containers, "docker.io/rancher/local-path-provisioner:v0.0.21")
    assert c.command == ("local-path-provisioner", "start", "--config", "/etc/config/config.json")
    assert c.args is None
    assert c.describe() == "local-storage.yaml: Deployment kube-system/local-path-provisioner, container local-path-provisioner"


def test_coredns_uses_args_only(k3s_containers):
    (c,) = using_image(k3s_containers, "rancher/mirrored-coredns-coredns:1.9.1")
    assert c.command is None and c.args == ("-conf", "/etc/coredns/Corefile")


def test_subdirectories_are_read(k3s_containers):
    (c,) = using_image(k3s_containers, "index.docker.io/rancher/mirrored-metrics-server:v0.5.2")
    assert c.source == "metrics-server/metrics-server-deployment.yaml"
    assert c.command is None and "--secure-port=4443" in c.args


def test_other_tags_and_registries_do_not_match(k3s_containers):
    assert using_image(k3s_containers, "rancher/local-path-provisioner:v0.0.22") == []
    assert using_image(k3s_containers, "127.0.0.1:5000/rancher/local-path-provisioner:v0.0.21") == []


def test_helmcharts_are_not_workloads(k3s_containers):
    assert not any("traefik" in c.image for c in k3s_containers)


def test_skip_files_are_honoured(tmp_path):
    shutil.copy(SHARED / "coredns.yaml", tmp_path)
    shutil.copy(SHARED / "local-storage.yaml", tmp_path)
    (tmp_path / "coredns.yaml.skip").write_text("")
    names = {c.name for c in containers(load_documents(tmp_path))}
    assert names == {"local-path-provisioner", "helper-pod"}


def test_pod_spec_file_list_and_init_containers(tmp_path):
    pod = tmp_path / "pod.yaml"
    pod.write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: Pod\n  metadata: {name: helper, namespace: kube-system}\n"
        "  spec:\n    initContainers:\n    - name: init\n      image: rancher/mirrored-library-busybox:1.34.1\n"
        "      command: [/bin/sh, /script/setup]\n"
        "    containers:\n    - name: main\n      image: busybox:1.34.1\n      workingDir: /data\n"
        "      env: [{name: PATH, value: /bin}, {name: POD, valueFrom: {fieldRef: {fieldPath: x}}}]\n"
    )
    cs = containers(load_documents(pod))
    (init,) = using_image(cs, "docker.io/rancher/mirrored-library-busybox:1.34.1")
    assert init.init and init.command == ("/bin/sh", "/script/setup") and init.source == "pod.yaml"
    (main,) = using_image(cs, "docker.io/library/busybox:1.34.1")
    assert main.working_dir == "/data" and dict(main.env) == {"PATH": "/bin"}


def test_cronjob_and_bare_pod_spec(tmp_path):
    (tmp_path / "cj.yaml").write_text(
        "kind: CronJob\nmetadata: {name: cj}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n"
        "          containers: [{name: c, image: 'rancher/x:1', args: [a]}]\n---\n"
        "containers: [{name: bare, image: 'rancher/x:1'}]\n"
    )
    cs = using_image(containers(load_documents(tmp_path)), "rancher/x:1")
    assert [(c.kind, c.name, c.args) for c in cs] == [("CronJob", "c", ("a",)), ("PodSpec", "bare", None)]


def test_bad_yaml_and_missing_path_are_bad_input(tmp_path):
    (tmp_path / "bad.yaml").write_text("kind: Pod\nspec: [unclosed\n")
    with pytest.raises(BadInput, match="bad.yaml is not valid YAML"):
        load_documents(tmp_path)
    with pytest.raises(BadInput, match="does not exist"):
        load_documents(tmp_path / "nope")


def test_local_path_helper_pod_runs_bin_sh_in_busybox(k3s_containers):
    """local-storage.yaml's ConfigMap carries the helper pod; the provisioner
    runs it as /bin/sh /script/setup, so busybox is checked for /bin/sh."""
    (c,) = using_image(k3s_containers, "rancher/mirrored-library-busybox:1.34.1")
    assert c.command == ("/bin/sh", "/script/setup") and c.namespace == "kube-system"
    assert "ConfigMap local-path-config" in c.source
