"""verify's orchestration against a scripted kubectl (a small fake of the
cluster's answers; the real cluster is the test bed's, in the journey test)."""

from __future__ import annotations

import json
import shlex

from archport.remote import Result
from archport.verify import Kubectl, Options, verify
from archport.verify import specs
from tests.verify.test_checks import node, pod

HELPER = {"data": {"helperPod.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: helper-pod\nspec:\n"
                                     "  containers:\n  - name: helper-pod\n    image: rancher/mirrored-library-busybox:1.34.1\n"}}


class Cluster:
    """Answers the commands verify sends, like a healthy riscv64 k3s node."""

    def __init__(self, image_arch="riscv64", traefik=True, dns_ok=True):
        self.name = "fake"
        self.image_arch, self.traefik, self.dns_ok = image_arch, traefik, dns_ok
        self.created: dict[str, dict] = {}
        self.token = ""
        self.commands: list[str] = []

    def run(self, command: str, timeout: float = 60) -> Result:
        self.commands.append(command)
        head, _, body = command.partition("\n")
        if head.startswith("test -f"):
            return Result("", "", 1)                      # no packaged traefik manifest
        if "crictl inspecti" in head:
            return Result(json.dumps({"info": {"imageSpec": {"os": "linux", "architecture": self.image_arch}}}))
        words = shlex.split(head.split("<<")[0])[2:]          # after "k3s kubectl"
        if words[:2] == ["apply", "-f"]:
            doc = json.loads(body.rsplit("\n", 1)[0])
            for it in doc["items"]:
                self.created[it["metadata"]["name"]] = it
                if it["metadata"]["name"] == "writer":
                    self.token = it["spec"]["containers"][0]["command"][2].split()[1]
            return Result("applied")
        if words[0] == "logs":
            return Result(self._log(words[-1]))
        if words[0] == "delete":
            return Result("deleted")
        if words[:2] == ["get", "--raw"]:
            return Result(json.dumps({"items": [{"metadata": {"name": "lpi4a"}, "usage": {"cpu": "1m", "memory": "1Mi"}}]}))
        return self._get(words[1:])

    def _get(self, w: list[str]) -> Result:
        what = w[0]
        answers = {
            "nodes": {"items": [node()]},
            "pods": {"items": [pod("coredns-1"), pod("local-path-provisioner-1")]},
            "apiservice": {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
            "serviceaccount": {"metadata": {"name": "default"}},
            "pvc": {"status": {"phase": "Bound"}, "spec": {"volumeName": "pvc-1", "storageClassName": "local-path"}},
        }
        if what == "configmap":
            return Result(json.dumps(HELPER))
        if what in ("namespace", "helmcharts.helm.cattle.io"):
            return Result("", "NotFound", 1)
        if what == "service":
            if w[-3] == "kube-dns":
                return Result(json.dumps({"spec": {"clusterIP": "10.43.0.10"}}))
            if not self.traefik:
                return Result("", "NotFound", 1)
            return Result(json.dumps({"spec": {"ports": [{"name": "web", "port": 80}]},
                                      "status": {"loadBalancer": {"ingress": [{"ip": "172.31.242.2"}]}}}))
        if what == "pod":
            return Result(json.dumps({"status": {"phase": "Succeeded"}}))
        return Result(json.dumps(answers[what]))

    def _log(self, name: str) -> str:
        if name == "dns":
            return "".join(f"Name: {n}\nAddress: 10.43.0.1\n{specs.MARK} resolved {n}\n"
                           for n in specs.DNS_NAMES if self.dns_ok)
        if name == "reader":
            return f"{specs.MARK} read {self.token}\n"
        if name == "http":
            return "  HTTP/1.1 404 Not Found\nwget: server returned error: HTTP/1.1 404 Not Found\n"
        return ""


def run(cluster, **kw):
    return {c.name: c for c in verify(Kubectl(cluster), Options(timeout=0, poll=0, **kw),
                                      now=lambda: 0.0, sleep=lambda s: None)}


def test_a_healthy_node_passes_every_check_in_order():
    c = Cluster()
    got = run(c)
    assert list(got) == ["nodes", "pods", "dns", "storage", "metrics", "ingress"]
    assert all(x.ok for x in got.values()), {k: v.reason for k, v in got.items()}
    assert "coredns-1" in " ".join(got["pods"].evidence) and "linux/riscv64" in " ".join(got["pods"].evidence)
    # the check pods use the node's own helper image, and the namespace goes away
    assert c.created["dns"]["spec"]["containers"][0]["image"] == "rancher/mirrored-library-busybox:1.34.1"
    assert any(cmd.startswith(f"k3s kubectl delete namespace {specs.NAMESPACE}") for cmd in c.commands)


def test_an_image_of_another_platform_fails_pods():
    got = run(Cluster(image_arch="amd64"))
    assert not got["pods"].ok and "as linux/amd64, the node is linux/riscv64" in got["pods"].reason


def test_unresolved_names_fail_dns_and_a_missing_traefik_is_skipped_not_passed_silently():
    got = run(Cluster(dns_ok=False, traefik=False))
    assert not got["dns"].ok and "did not resolve through 10.43.0.10" in got["dns"].reason
    assert got["ingress"].skipped and "traefik is disabled" in got["ingress"].skipped


def test_traefik_enabled_but_not_installed_fails():
    c = Cluster(traefik=False)
    c.run = _with_packaged_traefik(c.run)
    got = run(c)
    assert not got["ingress"].ok and "is helm-controller running?" in got["ingress"].reason


def _with_packaged_traefik(inner):
    def run(command, timeout=60):
        if command.startswith("test -f"):
            return Result("")
        return inner(command, timeout)
    return run


def test_keep_leaves_the_namespace():
    c = Cluster()
    run(c, keep=True)
    assert not any(cmd.startswith(f"k3s kubectl delete namespace") for cmd in c.commands)
