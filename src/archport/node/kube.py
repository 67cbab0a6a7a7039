"""The Kubernetes objects archport reads, as small values parsed once from JSON.

Nodes, pods with their containers and images, events and HelmCharts come from
``kubectl get … -o json`` (a ``List`` of mixed kinds, or one object; Kubernetes
API schema core/v1, and helm.cattle.io/v1 for k3s's HelmChart); CRI sandboxes
and images from ``crictl pods -o json`` / ``crictl images -o json`` (CRI
runtime API ``PodSandbox`` / ``Image``).  doctor, audit, deploy and verify all
read these same values.  Parsers are tolerant: a missing field gives an empty
value, never an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# A pod waiting for these reasons retries only after the kubelet's back-off.
PULL_FAILURES = ("ImagePullBackOff", "ErrImagePull")


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    image: str
    ready: bool = False
    init: bool = False
    state: str = ""          # waiting | running | terminated
    reason: str = ""         # state.waiting.reason or state.terminated.reason
    message: str = ""
    exit_code: int | None = None
    restarts: int = 0
    last_reason: str = ""    # lastState.terminated
    last_message: str = ""
    last_exit_code: int | None = None


@dataclass(frozen=True, slots=True)
class Pod:
    namespace: str
    name: str
    uid: str = ""
    phase: str = ""
    node: str = ""
    containers: tuple[Container, ...] = ()
    owner: str = ""          # "Job/helm-install-traefik"
    status_text: str = ""    # the STATUS column when parsed from a table

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def healthy(self) -> bool:
        if self.phase == "Succeeded":
            return True
        if self.status_text:
            return self.status_text in ("Running", "Completed", "Succeeded") and all(
                c.ready or c.init for c in self.containers)
        main = [c for c in self.containers if not c.init]
        return self.phase == "Running" and bool(main) and all(c.ready for c in main)

    @property
    def status(self) -> str:
        """What ``kubectl get pods`` would print in STATUS, approximately."""
        if self.status_text:
            return self.status_text
        for c in self.containers:
            if c.init and c.state == "waiting" and c.reason:
                return f"Init:{c.reason}"
        for c in self.containers:
            if not c.init and c.state == "waiting" and c.reason:
                return c.reason
        for c in self.containers:
            if not c.init and c.state == "terminated" and c.reason:
                return c.reason
        return self.phase or "Unknown"

    @property
    def images(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.image for c in self.containers if c.image))

    @property
    def waiting(self) -> tuple[str, ...]:
        """The reasons its containers wait for (init containers first)."""
        return tuple(c.reason for c in self.containers if c.state == "waiting" and c.reason)

    @property
    def pull_failing(self) -> bool:
        return any(r in PULL_FAILURES for r in self.waiting)

    @property
    def creating(self) -> bool:
        """Still without a sandbox: when the pause image cannot be pulled the
        kubelet reports ``ContainerCreating`` and retries only after its back-off."""
        return bool(self.waiting) and all(r == "ContainerCreating" for r in self.waiting)


@dataclass(frozen=True, slots=True)
class Event:
    namespace: str
    object_kind: str
    object_name: str
    object_uid: str = ""
    reason: str = ""
    message: str = ""
    type: str = ""
    count: int = 1
    source: str = ""
    last_seen: str = ""


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    architecture: str = ""
    os: str = ""
    kernel: str = ""
    os_image: str = ""
    runtime: str = ""
    kubelet: str = ""
    ready: bool = False
    conditions: tuple[tuple[str, str, str], ...] = ()   # (type, status, message)


@dataclass(frozen=True, slots=True)
class HelmChart:
    """A k3s ``HelmChart`` (helm.cattle.io/v1): helm-controller installs it with a job."""
    namespace: str
    name: str
    chart: str = ""
    version: str = ""
    repo: str = ""
    target_namespace: str = ""
    job_image: str = ""       # spec.jobImage, "" for the controller's default


@dataclass(frozen=True, slots=True)
class Sandbox:
    id: str
    name: str
    namespace: str
    uid: str = ""
    state: str = ""          # SANDBOX_READY | SANDBOX_NOTREADY
    attempt: int = 0
    created: int = 0


@dataclass(frozen=True, slots=True)
class Image:
    id: str
    tags: tuple[str, ...] = ()
    digests: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cluster:
    pods: tuple[Pod, ...] = ()
    events: tuple[Event, ...] = ()
    nodes: tuple[Node, ...] = ()
    helmcharts: tuple[HelmChart, ...] = ()
    extra_kinds: tuple[str, ...] = field(default=())


def _container(spec: dict, status: dict | None, init: bool) -> Container:
    status = status or {}
    state = status.get("state") or {}
    kind, detail = next(iter(state.items()), ("", {}))
    detail = detail or {}
    last = (status.get("lastState") or {}).get("terminated") or {}
    return Container(
        name=spec.get("name", status.get("name", "")),
        image=spec.get("image") or status.get("image", ""),
        ready=bool(status.get("ready")),
        init=init,
        state=kind,
        reason=detail.get("reason", "") or "",
        message=detail.get("message", "") or "",
        exit_code=detail.get("exitCode"),
        restarts=int(status.get("restartCount") or 0),
        last_reason=last.get("reason", "") or "",
        last_message=last.get("message", "") or "",
        last_exit_code=last.get("exitCode"),
    )


def parse_pod(doc: dict) -> Pod:
    meta = doc.get("metadata") or {}
    spec = doc.get("spec") or {}
    st = doc.get("status") or {}
    containers = []
    for key, skey, init in (("initContainers", "initContainerStatuses", True),
                            ("containers", "containerStatuses", False)):
        statuses = {s.get("name"): s for s in st.get(skey) or []}
        for c in spec.get(key) or []:
            containers.append(_container(c, statuses.get(c.get("name")), init))
    owners = meta.get("ownerReferences") or []
    owner = f"{owners[0].get('kind')}/{owners[0].get('name')}" if owners else ""
    return Pod(meta.get("namespace", "default"), meta.get("name", ""), meta.get("uid", ""),
               st.get("phase", ""), spec.get("nodeName", ""), tuple(containers), owner)


def parse_event(doc: dict) -> Event:
    obj = doc.get("involvedObject") or doc.get("regarding") or {}
    src = doc.get("source") or {}
    return Event(
        namespace=(doc.get("metadata") or {}).get("namespace", obj.get("namespace", "")),
        object_kind=obj.get("kind", ""), object_name=obj.get("name", ""), object_uid=obj.get("uid", ""),
        reason=doc.get("reason", "") or "", message=doc.get("message", doc.get("note", "")) or "",
        type=doc.get("type", "") or "", count=int(doc.get("count") or 1),
        source=src.get("component", doc.get("reportingComponent", "")) or "",
        last_seen=doc.get("lastTimestamp") or doc.get("eventTime") or "",
    )


def parse_node(doc: dict) -> Node:
    meta = doc.get("metadata") or {}
    st = doc.get("status") or {}
    info = st.get("nodeInfo") or {}
    conds = tuple((c.get("type", ""), c.get("status", ""), c.get("message", "")) for c in st.get("conditions") or [])
    return Node(meta.get("name", ""), info.get("architecture", ""), info.get("operatingSystem", ""),
                info.get("kernelVersion", ""), info.get("osImage", ""), info.get("containerRuntimeVersion", ""),
                info.get("kubeletVersion", ""), any(t == "Ready" and s == "True" for t, s, _ in conds), conds)


def parse_helmchart(doc: dict) -> HelmChart:
    meta = doc.get("metadata") or {}
    spec = doc.get("spec") or {}
    return HelmChart(meta.get("namespace", ""), meta.get("name", ""), str(spec.get("chart") or ""),
                     str(spec.get("version") or ""), str(spec.get("repo") or ""),
                     str(spec.get("targetNamespace") or ""), str(spec.get("jobImage") or ""))


def parse_cluster(doc: dict) -> Cluster:
    """A ``List`` (or a single object) of pods, events, nodes and HelmCharts."""
    items = doc.get("items") if isinstance(doc.get("items"), list) else [doc]
    pods, events, nodes, charts, other = [], [], [], [], []
    for it in items:
        if not isinstance(it, dict):
            continue
        kind = it.get("kind", "")
        if kind == "Pod":
            pods.append(parse_pod(it))
        elif kind == "Event":
            events.append(parse_event(it))
        elif kind == "Node":
            nodes.append(parse_node(it))
        elif kind == "HelmChart":
            charts.append(parse_helmchart(it))
        elif kind:
            other.append(kind)
    return Cluster(tuple(pods), tuple(events), tuple(nodes), tuple(charts), tuple(sorted(set(other))))


def pods_from_json(text: str) -> tuple[Pod, ...]:
    """The pods of ``kubectl get pods … -o json`` output: every item is a pod,
    whether or not it names its kind.  Raises ``ValueError`` when the text
    is not a JSON object."""
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return tuple(parse_pod(it) for it in doc.get("items") or () if isinstance(it, dict))


def parse_sandboxes(doc: dict) -> tuple[Sandbox, ...]:
    out = []
    for it in doc.get("items") or []:
        meta = it.get("metadata") or {}
        labels = it.get("labels") or {}
        out.append(Sandbox(
            id=it.get("id", ""), name=meta.get("name", labels.get("io.kubernetes.pod.name", "")),
            namespace=meta.get("namespace", labels.get("io.kubernetes.pod.namespace", "")),
            # CRI PodSandboxMetadata.uid is the pod UID; the label is its copy.
            uid=meta.get("uid", labels.get("io.kubernetes.pod.uid", "")),
            state=it.get("state", ""), attempt=int(meta.get("attempt") or 0),
            created=int(it.get("createdAt") or 0)))
    return tuple(out)


def parse_images(doc: dict) -> tuple[Image, ...]:
    return tuple(Image(it.get("id", ""), tuple(it.get("repoTags") or ()), tuple(it.get("repoDigests") or ()))
                 for it in doc.get("images") or [])
