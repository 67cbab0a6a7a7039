"""The node's rendered configuration: k3s's defaults and what this VM needs."""
import tomllib

from ruamel.yaml import YAML

from testbed import config, paths


def _yaml(text: str) -> dict:
    return YAML(typ="safe").load(text)


def test_apiserver_has_k3s_service_range_and_aggregation_layer():
    argv = config.apiserver_argv(paths.layout())
    assert "--service-cluster-ip-range=10.43.0.0/16" in argv
    assert "--enable-aggregator-routing=true" in argv
    assert any(a.startswith("--requestheader-client-ca-file=") and a.endswith("front-proxy-ca.crt") for a in argv)
    assert any(a.startswith("--proxy-client-cert-file=") for a in argv)


def test_controller_manager_allocates_from_k3s_cluster_cidr():
    argv = config.controller_manager_argv(paths.layout())
    assert "--cluster-cidr=10.42.0.0/16" in argv and "--allocate-node-cidrs=true" in argv


def test_kubelet_config_for_this_vm():
    cfg = _yaml(config.kubelet_config(paths.layout()))
    assert cfg["cgroupDriver"] == "cgroupfs" and cfg["failCgroupV1"] is False
    assert cfg["clusterDNS"] == ["10.43.0.10"] and cfg["clusterDomain"] == "cluster.local"
    assert cfg["containerRuntimeEndpoint"] == "unix:///run/k3s/containerd/containerd.sock"


def test_containerd_config():
    cfg = tomllib.loads(config.containerd_config())
    cri = cfg["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True
    assert cri["sandbox_image"] == paths.BED_PAUSE_IMAGE
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False
    assert cri["cni"]["conf_dir"] == paths.BOARD_CNI_CONF


def test_kube_proxy_leaves_conntrack_sysctls_alone():
    cfg = _yaml(config.kube_proxy_config(paths.layout()))
    assert cfg["conntrack"]["maxPerCore"] == 0 and cfg["conntrack"]["min"] == 0
    assert cfg["clusterCIDR"] == "10.42.0.0/16"
