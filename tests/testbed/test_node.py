"""The node: Ready, and riscv64 as the kubelet reports it."""
from testbed import paths


def test_node_ready_and_riscv64(bed):
    n = bed.kubectl_json("get", "node", paths.NODE_NAME)
    ready = {c["type"]: c["status"] for c in n["status"]["conditions"]}["Ready"]
    assert ready == "True"
    assert n["metadata"]["labels"]["kubernetes.io/arch"] == "riscv64"
    assert n["status"]["nodeInfo"]["architecture"] == "riscv64"
    assert n["status"]["nodeInfo"]["kubeletVersion"] == paths.KUBERNETES
    assert n["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")
    assert n["spec"]["podCIDR"].startswith("10.42.")


def test_k3s_defaults(bed):
    svc = bed.kubectl_json("-n", "default", "get", "service", "kubernetes")
    assert svc["spec"]["clusterIP"] == paths.APISERVER_SERVICE_IP   # first address of 10.43.0.0/16


def test_aggregation_layer_configured(bed):
    # The front-proxy CA is published for extension apiservers (metrics-server).
    cm = bed.kubectl_json("-n", "kube-system", "get", "configmap", "extension-apiserver-authentication")
    assert "requestheader-client-ca-file" in cm["data"]
    assert '["front-proxy-client"]' == cm["data"]["requestheader-allowed-names"]
