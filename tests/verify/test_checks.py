"""verify's judgements, from kubectl's JSON as plain data."""

from __future__ import annotations

from archport.verify import checks


def node(name="lpi4a", arch="riscv64", ready=True, message=""):
    return {"metadata": {"name": name},
            "status": {"nodeInfo": {"architecture": arch, "operatingSystem": "linux", "kubeletVersion": "v1.24.2"},
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "message": message}]}}


def pod(name, phase="Running", ready=True, owner="", reason=""):
    state = {"running": {}} if phase == "Running" else {"waiting": {"reason": reason}}
    meta = {"name": name, "namespace": "kube-system"}
    if owner:
        kind, _, oname = owner.partition("/")
        meta["ownerReferences"] = [{"kind": kind, "name": oname}]
    return {"metadata": meta, "spec": {"containers": [{"name": "c", "image": "x"}], "nodeName": "lpi4a"},
            "status": {"phase": phase, "containerStatuses": [
                {"name": "c", "ready": ready, "state": state, "image": "docker.io/x:1",
                 "imageID": "docker.io/x@sha256:" + "a" * 64}]}}


def test_nodes_ready_with_architecture():
    ok, ev, why = checks.nodes({"items": [node()]})
    assert ok and ev == ["lpi4a: Ready, linux/riscv64, kubelet v1.24.2"] and not why
    ok, ev, why = checks.nodes({"items": [node(ready=False, message="container runtime network not ready")]})
    assert not ok and why == "node lpi4a is NotReady: container runtime network not ready"
    assert checks.nodes({})[2] == "the cluster has no nodes"


def test_system_pods_count_completed_jobs_and_ignore_their_failed_attempts():
    doc = {"items": [pod("coredns-1"), pod("helm-install-traefik-a", "Succeeded", False, "Job/helm-install-traefik"),
                     pod("helm-install-traefik-b", "Failed", False, "Job/helm-install-traefik")]}
    ok, ev, failing = checks.system_pods(doc)
    assert ok and not failing and len(ev) == 3
    doc["items"].append(pod("metrics-server-1", "Pending", False, reason="ImagePullBackOff"))
    ok, _, failing = checks.system_pods(doc)
    assert not ok and [p.name for p in failing] == ["metrics-server-1"]


def test_running_images_and_their_platform():
    assert checks.running_images({"items": [pod("coredns-1")]}) == [
        ("kube-system/coredns-1", "lpi4a", "docker.io/x:1", "docker.io/x@sha256:" + "a" * 64)]
    assert checks.image_platform({"info": {"imageSpec": {"os": "linux", "architecture": "riscv64"}}}) == \
        "linux/riscv64"
    assert checks.image_platform({}) == ""


def test_metrics_and_load_balancer_and_pvc():
    ok, _, why = checks.apiservice({"status": {"conditions": [
        {"type": "Available", "status": "False", "message": "failing or missing response from https://10.42.0.6"}]}})
    assert not ok and "failing or missing response" in why
    assert checks.apiservice({"status": {"conditions": [{"type": "Available", "status": "True"}]}})[0]
    ok, ev, _ = checks.node_metrics({"items": [{"metadata": {"name": "lpi4a"},
                                                "usage": {"cpu": "120m", "memory": "900Mi"}}]}, ["lpi4a"])
    assert ok and ev == ["lpi4a: cpu 120m, memory 900Mi"]
    assert not checks.node_metrics({"items": []}, ["lpi4a"])[0]
    svc = {"spec": {"ports": [{"name": "web", "port": 80}, {"name": "websecure", "port": 443}]},
           "status": {"loadBalancer": {"ingress": [{"ip": "172.31.242.2"}]}}}
    assert checks.load_balancer(svc) == (["172.31.242.2"], "80")
    assert checks.pvc_bound({"status": {"phase": "Bound"}, "spec": {"volumeName": "pvc-1",
                                                                    "storageClassName": "local-path"}})[0]
    assert checks.pvc_bound({"status": {"phase": "Pending"}, "spec": {}})[2].startswith("the PVC is Pending")
