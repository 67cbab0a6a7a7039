"""Pods, events, nodes and CRI sandboxes as small values, parsed from JSON.

Input is what ``kubectl get pods,events,nodes -A -o json`` prints (a ``List``
of mixed kinds, Kubernetes API schema core/v1) and what ``crictl pods -o json``
/ ``crictl images -o json`` print (CRI runtime API ``PodSandbox`` / ``Image``).
Parsers are tolerant: a missing field gives an empty value, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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


def parse_cluster(doc: dict) -> Cluster:
    """A ``List`` (or a single object) of pods, events and nodes."""
    items = doc.get("items") if isinstance(doc.get("items"), list) else [doc]
    pods, events, nodes, other = [], [], [], []
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
        elif kind:
            other.append(kind)
    return Cluster(tuple(pods), tuple(events), tuple(nodes), tuple(sorted(set(other))))


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
