"""Judging what kubectl returns: pure functions from JSON documents to verdicts.

Each function answers one question about a document and returns
``(ok, evidence, reason)``: ``evidence`` lines say what was seen (on success
too), ``reason`` is the one line a failure prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..node import kube

Verdict = tuple[bool, list[str], str]


@dataclass
class Check:
    """One named check's result, as the report shows it."""

    name: str
    ok: bool = False
    seconds: float = 0.0
    evidence: list[str] = field(default_factory=list)
    reason: str = ""
    skipped: str = ""          # why the check did not run (a disabled component)

    def to_dict(self) -> dict:
        d = {"name": self.name, "ok": self.ok, "seconds": round(self.seconds, 1), "evidence": self.evidence}
        if self.reason:
            d["reason"] = self.reason
        if self.skipped:
            d["skipped"] = self.skipped
        return d


def nodes(doc: dict) -> Verdict:
    """Every node Ready; the evidence names each node's architecture."""
    found = [kube.parse_node(it) for it in doc.get("items") or []]
    if not found:
        return False, [], "the cluster has no nodes"
    evidence = [f"{n.name}: {'Ready' if n.ready else 'NotReady'}, {n.os or '?'}/{n.architecture or '?'}, "
                f"kubelet {n.kubelet or '?'}" for n in found]
    bad = [n for n in found if not n.ready]
    if bad:
        why = next((m for t, s, m in bad[0].conditions if t == "Ready" and m), "")
        return False, evidence, f"node {bad[0].name} is NotReady" + (f": {why}" if why else "")
    return True, evidence, ""


def node_platforms(doc: dict) -> dict[str, str]:
    """node name → ``os/arch`` as the kubelet reports it."""
    out = {}
    for it in doc.get("items") or []:
        n = kube.parse_node(it)
        out[n.name] = f"{n.os or 'linux'}/{n.architecture}"
    return out


def pod_done(p: kube.Pod) -> bool:
    """Running and Ready, or a Job's pod that Completed."""
    if p.phase == "Succeeded":
        return True
    main = [c for c in p.containers if not c.init]
    return p.phase == "Running" and bool(main) and all(c.ready for c in main)


def system_pods(doc: dict) -> tuple[bool, list[str], list[kube.Pod]]:
    """(all done, evidence, the pods that are not)."""
    pods = [kube.parse_pod(it) for it in doc.get("items") or []]
    evidence = [f"{p.key}: {p.status}" for p in pods]
    failing = [p for p in pods if not pod_done(p)]
    # A Job's earlier failed attempts do not count once a later pod completed.
    completed_jobs = {p.owner for p in pods if p.phase == "Succeeded" and p.owner}
    failing = [p for p in failing if not (p.owner and p.owner in completed_jobs)]
    return (bool(pods) and not failing), evidence, failing


def running_images(doc: dict) -> list[tuple[str, str, str, str]]:
    """(pod key, node, image name, image ID) of every started container."""
    out = []
    for it in doc.get("items") or []:
        meta, spec, st = it.get("metadata") or {}, it.get("spec") or {}, it.get("status") or {}
        key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        for cs in (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or []):
            if cs.get("imageID"):
                out.append((key, spec.get("nodeName", ""), cs.get("image", ""), cs["imageID"]))
    return out


def image_platform(inspecti: dict) -> str:
    """``os/arch`` of an image as ``crictl inspecti -o json`` shows it (the CRI
    image's spec, which containerd fills from the image config it unpacked)."""
    spec = (inspecti.get("info") or {}).get("imageSpec") or {}
    os_, arch = spec.get("os", ""), spec.get("architecture", "")
    return f"{os_}/{arch}" if arch else ""


def apiservice(doc: dict) -> Verdict:
    conds = (doc.get("status") or {}).get("conditions") or []
    avail = next((c for c in conds if c.get("type") == "Available"), None)
    if avail and avail.get("status") == "True":
        return True, ["APIService v1beta1.metrics.k8s.io Available"], ""
    why = (avail or {}).get("message") or (avail or {}).get("reason") or "no Available condition"
    return False, [], f"APIService v1beta1.metrics.k8s.io is not Available: {why}"


def node_metrics(doc: dict, node_names: list[str]) -> Verdict:
    items = doc.get("items") or []
    seen = {(it.get("metadata") or {}).get("name", ""): it.get("usage") or {} for it in items}
    evidence = [f"{n}: cpu {u.get('cpu', '?')}, memory {u.get('memory', '?')}" for n, u in seen.items()]
    missing = [n for n in node_names if n not in seen]
    if missing:
        return False, evidence, f"the metrics API lists no usage for node {missing[0]}"
    return True, evidence, ""


def load_balancer(svc: dict) -> tuple[list[str], str]:
    """(addresses ServiceLB gave the Service, its first port's number as text)."""
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    addrs = [i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")]
    ports = (svc.get("spec") or {}).get("ports") or []
    web = next((p for p in ports if p.get("name") in ("web", "http")), ports[0] if ports else {})
    return addrs, str(web.get("port", 80))


def pvc_bound(doc: dict) -> Verdict:
    phase = (doc.get("status") or {}).get("phase", "")
    vol = (doc.get("spec") or {}).get("volumeName", "")
    sc = (doc.get("spec") or {}).get("storageClassName", "")
    if phase == "Bound":
        return True, [f"PVC Bound to {vol} (StorageClass {sc})"], ""
    return False, [], f"the PVC is {phase or 'not created'} (StorageClass {sc or '?'})"
