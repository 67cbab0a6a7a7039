"""The node's rendered configuration: k3s's defaults and what this VM needs."""
import json
import tomllib

import pytest
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


def test_the_kubelet_gets_k3s_generated_resolv_conf_when_the_boards_is_a_loopback_stub():
    # the board's own: a loopback stub resolver, as systemd-resolved writes
    assert "nameserver 127.0.0.53" in config.resolv_conf()
    path, content = config.kubelet_resolv_conf(config.resolv_conf())
    assert path == "/var/lib/rancher/k3s/agent/etc/resolv.conf" and content == "nameserver 8.8.8.8\n"
    assert _yaml(config.kubelet_config(paths.layout()))["resolvConf"] == path
    # a real resolver is used as it is; any non-global address among them is not
    assert config.kubelet_resolv_conf("search lan\nnameserver 192.0.2.53\n") == ("/etc/resolv.conf", None)
    for bad in ("nameserver 192.0.2.53\nnameserver ::1\n", "nameserver 224.0.0.251\n", "nameserver fe80::1\n",
                "# no nameserver\n", "nameserver not-an-ip\n"):
        assert config.kubelet_resolv_conf(bad)[1] == "nameserver 8.8.8.8\n", bad


def test_the_metrics_permission_follows_the_stand_in_version(tmp_path):
    import json

    from testbed import upstream
    lay = paths.layout(tmp_path / "bed")
    work = tmp_path / "standins"
    record = work / "module-rancher_mirrored-metrics-server" / "built.json"
    record.parent.mkdir(parents=True)
    made = lay.var_k3s / "server" / "manifests" / upstream.METRICS_RBAC
    record.write_text(json.dumps({"version": "v0.8.0"}))
    upstream.standin_manifests(lay, work)
    docs = list(YAML(typ="safe").load_all(made.read_text()))
    assert docs[0]["rules"] == [{"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]}]
    assert docs[1]["subjects"] == [{"kind": "ServiceAccount", "name": "metrics-server", "namespace": "kube-system"}]
    record.write_text(json.dumps({"version": "v0.5.2"}))      # k3s v1.24.2's own grants are enough
    upstream.standin_manifests(lay, work)
    assert not made.exists()


def test_up_disable_writes_the_boards_k3s_disable_list(tmp_path):
    from testbed.__main__ import DISABLE_FILE, write_disable
    from testbed.k3s.config import merge, settings
    lay = paths.layout(tmp_path / "bed")
    write_disable(lay, ["traefik", "servicelb"])
    f = lay.etc_k3s / "config.yaml.d" / DISABLE_FILE
    assert _yaml(f.read_text()) == {"disable": ["traefik", "servicelb"]}
    assert settings(merge([(f"config.yaml.d/{DISABLE_FILE}", f.read_text())])).disable == {"traefik", "servicelb"}
    write_disable(lay, [])                     # `up` without --disable: k3s's defaults again
    assert not f.exists()


# -- the board's CPU ------------------------------------------------------------------

def test_the_board_is_rv64gc_without_vector_by_default_and_its_cpuinfo_says_so():
    """What archport reads on the board (the cpu and mmu facts) is the CPU
    model its containers run on: RVA20, no V, Sv39."""
    from archport.node import facts
    cpu = config.board_cpu({})
    assert cpu.model == config.BOARD_CPU_MODEL == "sifive-u54"
    text = config.cpuinfo(cpu, 2)
    assert text.count("processor\t: ") == 2 and "\nisa\t\t: rv64imafdc_" in text
    read = facts.BY_NAME["cpu"].parse(text)["cpu"]
    assert read.profile == "rva20u64" and not read.has_vector and read.mmu == "sv39"
    assert not {"zba", "zbb", "zbs", "v"} & read.extensions
    assert facts.BY_NAME["mmu"].parse(text.split("\n\n")[0]) == {"mmu": "sv39"}


def test_the_cpu_knob_names_a_model_the_bed_knows():
    assert config.board_cpu({"ARCHPORT_TESTBED_CPU": "rv64,v=false,zba=false,zbb=false,zbs=false"}).isa == \
        config.CPUS["sifive-u54"].isa
    with pytest.raises(ValueError, match="sifive-u54"):
        config.board_cpu({"ARCHPORT_TESTBED_CPU": "rv64"})


def test_the_cpu_model_reaches_containers_through_the_runtimes_base_spec():
    default = json.dumps({"ociVersion": "1.1.0", "process": {
        "cwd": "/", "env": ["QEMU_CPU=max"], "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "apparmorProfile": "x"}, "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO"}, "namespaces": []}})
    spec = json.loads(config.base_runtime_spec(default, config.CPUS["sifive-u54"]))
    assert spec["process"]["env"] == ["QEMU_CPU=sifive-u54"]
    assert "rlimits" not in spec["process"] and "apparmorProfile" not in spec["process"]
    assert "seccomp" not in spec["linux"] and spec["linux"]["namespaces"] == []
    cfg = tomllib.loads(config.containerd_config())
    runc = cfg["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["runc"]
    assert runc["base_runtime_spec"] == str(paths.layout().runtime_spec)


def test_the_k3s_stand_in_keeps_the_base_spec_in_the_config_it_renders():
    from testbed.k3s import bed, registries
    cfg = tomllib.loads(registries.render(bed.node_values(), registries.parse(""), "p:1"))
    runc = cfg["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["runc"]
    assert runc["base_runtime_spec"] == str(paths.layout().runtime_spec)
