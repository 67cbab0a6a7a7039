"""Facts from pasted text: whatever people paste into issues and chats.

Recognised, in any order, mixed, and pasted more than once (duplicates
collapse):

* ``kubectl get pods [-A | -n NS] [-o wide]`` tables;
* ``kubectl describe pod`` output, one or several, with or without the
  command line: ``Name:``/``Namespace:``, the Containers section (image,
  state, reason, message) and the Events table;
* a bare ``Events:`` table with no pod header;
* ``kubectl get events [-A]`` tables, with or without their header row;
* ``kubectl logs [--previous] POD [-c C]`` output, with or without its
  command line;
* ``journalctl -u k3s`` lines (klog or containerd's logrus format; the month
  in any locale, CJK included);
* ``crictl pods`` / ``crictl ps`` / ``crictl images`` tables, and what
  ``crictl pull`` prints when it fails (klog lines, then ``FATA[…]``);
* containerd.log lines.

A command line (after any shell prompt) says what the output below it is and
which namespace it is in (``-n``).  Every message is then tied to its pod: by
pod name (klog's ``pod=``, containerd's ``PodSandboxMetadata{Name:…}``), else
by the image it names, else by container name (from a describe,
``crictl ps``, ``logs -c``, or the program an exec error names).  A failure
no pod claims is kept as an :data:`~.report.UNOWNED` event naming its image,
so it is reported by the image (or as unclassified), never dropped.  Other
unknown lines are skipped, so a partial paste still gives what it has;
nothing recognised at all is bad input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .. import reference
from ..errors import BadInput
from ..node import kube
from . import system
from . import texttables as t
from .report import UNOWNED
from ..node.facts import Facts

@dataclass
class _Pending:
    """A message not yet tied to a pod."""

    text: str
    reason: str
    type: str = "Warning"
    pod: str = ""            # pod name when known
    namespace: str = ""
    image: str = ""
    container: str = ""
    source: str = ""


@dataclass
class _State:
    pods: dict[str, kube.Pod] = field(default_factory=dict)          # by pod name
    described: dict[str, t.Describe] = field(default_factory=dict)
    pending: list[_Pending] = field(default_factory=list)
    events: list[kube.Event] = field(default_factory=list)          # non-pod events, kept as they are
    sandboxes: dict[str, kube.Sandbox] = field(default_factory=dict)
    cri: dict[str, t.CriContainer] = field(default_factory=dict)
    images: dict[str, kube.Image] = field(default_factory=dict)
    journal: list[str] = field(default_factory=list)
    containerd_log: list[str] = field(default_factory=list)
    unowned: list[_Pending] = field(default_factory=list)                # failures no pod can claim
    seen_table: bool = False


@dataclass
class _Cursor:
    """Where the reader is: the command line above, and the table or section it is in."""

    cmd: t.Command | None = None
    mode: str = ""
    desc: t.Describe | None = None
    section: str = ""
    container: dict | None = None

    @property
    def ns_hint(self) -> str:
        return self.cmd.namespace if self.cmd else ""


def parse(text: str, source: str = "pasted text") -> Facts:
    st, at = _State(), _Cursor()
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            if at.mode in ("events", "logs-bare"):
                at.mode = ""
            continue
        if _switch(at, st, line) or _runtime(st, line) or _describe(at, st, line):
            continue
        if at.mode in _ROWS:
            if _ROWS[at.mode](at, st, line):
                continue
            at.mode = ""
        _loose(at, st, line)
    return _facts(st, source)


# Headers: the table that follows them.
_HEADERS = ((t.PODS_HDR, lambda m: "pods-ns" if m.group(1) else "pods"),
            (t.GET_EVENTS_HDR, lambda m: "get-events-ns" if m.group(1) else "get-events"),
            (t.CRICTL_PODS_HDR, lambda m: "crictl-pods"),
            (t.CRICTL_PS_HDR, lambda m: "crictl-ps"),
            (t.CRICTL_IMAGES_HDR, lambda m: "crictl-images"),
            (t.DESCRIBE_EVENTS_HDR, lambda m: "events"))


def _switch(at: _Cursor, st: _State, line: str) -> bool:
    """A command line or a table header: it says what the lines below are."""
    new = t.command(line)
    if new is not None:
        at.cmd, at.mode, at.desc = new, ("logs" if new.kind == "logs" else ""), None
        return True
    for rx, mode in _HEADERS:
        m = rx.match(line)
        if m:
            at.mode = mode(m)
            st.seen_table = st.seen_table or at.mode.startswith("pods")
            return True
    return False


def _runtime(st: _State, line: str) -> bool:
    """A runtime's own log line: containerd's logrus, the journal's klog, crictl's last word."""
    if t.LOGRUS.search(line) and not t.JOURNAL_PREFIX.match(line):
        st.containerd_log.append(line)
        _from_runtime_line(st, line, "containerd")
    elif t.KLOG.search(line) or t.JOURNAL_PREFIX.match(line):
        st.journal.append(line)
        if not t.POD_KEY.search(line):
            _from_runtime_line(st, line, "journal")
    elif t.CRICTL_FATAL.match(line):
        _from_runtime_line(st, line, "crictl")
    else:
        return False
    return True


def _describe(at: _Cursor, st: _State, line: str) -> bool:
    """``kubectl describe pod``: its Name: line starts it, its fields follow."""
    m = re.match(r"^Name:\s+(\S+)\s*$", line)
    if m:
        ns = at.ns_hint if at.cmd and at.cmd.kind == "describe" else ""
        at.desc = st.described.setdefault(m.group(1), t.Describe(m.group(1), ns))
        at.mode, at.section, at.container = "describe", "", None
        return True
    if at.desc is not None and at.mode == "describe" and not (t.event_row(line) or t.describe_event(line)):
        at.section, at.container = t.describe_line(at.desc, line, at.section, at.container)
        return True
    return False     # an event row is never a describe field, even when its header was not pasted


def _pods_row(at: _Cursor, st: _State, line: str) -> bool:
    pod = t.pod_row(line, at.mode == "pods-ns", at.ns_hint or "default")
    if pod:
        _add_pod(st, pod, explicit=at.mode == "pods-ns" or bool(at.ns_hint))
    return pod is not None


def _get_events_row(at: _Cursor, st: _State, line: str) -> bool:
    e = t.get_event(line, at.mode == "get-events-ns", at.ns_hint)
    if e:
        _add_event(st, e)
    return e is not None


def _crictl_row(at: _Cursor, st: _State, line: str) -> bool:
    parse_row, table, key = _CRICTL_ROWS[at.mode]
    row = parse_row(line)
    if row:
        getattr(st, table).setdefault(key(row), row)
    return row is not None


def _describe_events_row(at: _Cursor, st: _State, line: str) -> bool:
    if line.strip().startswith("----"):
        return True
    row = t.describe_event(line)
    if row:
        typ, reason, src, msg = row
        pod = at.desc.name if at.desc is not None else ""
        ns = (at.desc.namespace if at.desc is not None else "") or at.ns_hint
        st.pending.append(_Pending(msg, reason, typ, pod, ns, t.image_in(msg), source=src))
    return row is not None


def _logs_row(at: _Cursor, st: _State, line: str) -> bool:
    if at.cmd is None:
        return False
    st.pending.append(_Pending(line.strip(), "Logs", "Warning", at.cmd.name, at.cmd.namespace,
                               container=at.cmd.container or t.exec_target(line)))
    return True


_ROWS = {"pods": _pods_row, "pods-ns": _pods_row, "get-events": _get_events_row, "get-events-ns": _get_events_row,
         "crictl-pods": _crictl_row, "crictl-ps": _crictl_row, "crictl-images": _crictl_row,
         "events": _describe_events_row, "logs": _logs_row}


def _loose(at: _Cursor, st: _State, line: str) -> None:
    """A line outside any table: an event row whose header was not pasted,
    or a container's own output pasted without ``kubectl logs``."""
    row = t.event_row(line)
    if row:
        e, has_ns = row
        _add_event(st, replace(e, namespace=e.namespace or at.ns_hint))
        at.mode = "get-events-ns" if has_ns else "get-events"
    elif t.describe_event(line):
        if at.mode != "describe":        # rows below a describe are its pod's, header or not
            at.desc = None
        at.mode = "events"
        _describe_events_row(at, st, line)
    elif t.LOG_FAILURE.search(line):
        st.pending.append(_Pending(line.strip(), "Logs", container=t.exec_target(line)))
        at.mode = "logs-bare"
    elif m := t.CRICTL_EXIT.search(line):
        st.pending.append(_Pending(f"a container exited with code {m.group(1)} (crictl inspect)", "Error"))


def _add_event(st: _State, e: kube.Event) -> None:
    if e.object_kind == "Pod":
        st.pending.append(_Pending(e.message, e.reason, e.type, e.object_name, e.namespace, t.image_in(e.message),
                                   source=e.source))
        return
    st.events.append(e)
    if e.type == "Warning":
        # A failure of a Job, a node or a ReplicaSet: no pod claims it, but it is reported.
        st.unowned.append(_Pending(f"{e.object_kind.lower()}/{e.object_name}: {e.message}", e.reason,
                                   image=t.image_in(e.message), source="events"))


# crictl tables: the row parser, the _State table it fills, and its key there.
_CRICTL_ROWS = {
    "crictl-pods": (t.crictl_pod, "sandboxes", lambda sb: sb.id),
    "crictl-ps": (t.crictl_container, "cri", lambda c: c.id),
    "crictl-images": (t.crictl_image, "images", lambda img: img.tags[0]),
}


def _from_runtime_line(st: _State, line: str, source: str) -> None:
    """A runtime line without klog's ``pod=``: a failure when its level says
    so, or when it names an image and says it failed.  containerd names the
    pod of a sandbox it could not create; otherwise the image ties it later."""
    image = t.image_in(line)
    if t.FAILURE_LEVEL.search(line) or (image and re.search(r"level=warning|failed|error", line, re.IGNORECASE)):
        ns, pod = t.sandbox_pod(line)
        st.pending.append(_Pending(line, "Failed", pod=pod, namespace=ns, image=image, source=source))


# Runtime lines no pod claims are not copied into the journal: the journal's and
# containerd.log's are there as they are, and crictl's output is neither.
_RUNTIME = ("journal", "containerd", "crictl")


def _add_pod(st: _State, pod: kube.Pod, explicit: bool) -> None:
    old = st.pods.get(pod.name)
    if old is None or (explicit and old.namespace == "default"):
        st.pods[pod.name] = pod


def _facts(st: _State, source: str) -> Facts:
    _described_pods(st)
    by_image, by_container = _owner_index(st)
    events, journal = _attach(st, by_image, by_container)
    # Journal lines naming their pod (klog's pod="ns/name") make the pod known.
    for line in st.journal:
        k = t.POD_KEY.search(line)
        if k and k.group(2) not in st.pods:
            st.pods[k.group(2)] = kube.Pod(k.group(1), k.group(2), status_text="Unknown")
    # Events keep the namespace their pod ended with.
    pods = st.pods
    events = [replace(e, namespace=pods[e.object_name].namespace) if e.object_kind == "Pod"
              and e.object_name in pods else e for e in events]
    events += _settled(pods, events, st.journal)
    if not (pods or events or st.sandboxes or journal or st.cri or st.images or st.containerd_log):
        raise BadInput(f"{source}: no kubectl table, describe output, crictl table or k3s journal line found")
    missing = [n for n, v in (("pods table", st.seen_table), ("events", events),
                              ("crictl pods", st.sandboxes), ("journal", journal)) if not v]
    return Facts(cluster=kube.Cluster(tuple(pods.values()), tuple(events), ()),
                 sandboxes=tuple(st.sandboxes.values()), images=tuple(st.images.values()),
                 journal=tuple(journal), containerd_log=tuple(st.containerd_log), missing=tuple(missing),
                 source=source)


def _described_pods(st: _State) -> None:
    """Describes become pods (or fill in the table's bare ones)."""
    for d in st.described.values():
        containers = tuple(kube.Container(c["name"], c["image"], ready=c["ready"], init=c["init"],
                                          state=c["state"], reason=c["reason"], message=c["message"],
                                          last_reason=c["last_reason"], last_message=c["last_message"],
                                          exit_code=c.get("exit_code"), last_exit_code=c.get("last_exit_code"))
                           for c in d.containers)
        old = st.pods.get(d.name)
        ns = d.namespace or (old.namespace if old else "default")
        if old is None:
            st.pods[d.name] = kube.Pod(ns, d.name, phase=d.phase, containers=containers,
                                       status_text="" if containers else "Unknown")
        else:
            st.pods[d.name] = replace(old, namespace=ns, containers=containers or old.containers)


def _owner_index(st: _State) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Pods by the images they run and by their containers' names: from
    ``crictl ps`` (joined to ``crictl pods`` and ``crictl images``) and describes."""
    by_container: dict[str, set[str]] = {}
    by_image: dict[str, set[str]] = {}
    image_of_id = {img.id: img.tags[0] for img in st.images.values()}
    for c in st.cri.values():
        image = next((tag for iid, tag in image_of_id.items() if iid.startswith(c.image) or
                      c.image.startswith(iid)), c.image)
        pod = c.pod or next((sb.name for sid, sb in st.sandboxes.items()
                             if sid.startswith(c.pod_id) or c.pod_id.startswith(sid)), "")
        if pod:
            by_container.setdefault(c.name, set()).add(pod)
            by_image.setdefault(_norm(image), set()).add(pod)
    for p in st.pods.values():
        for c in p.containers:
            if c.image:
                by_image.setdefault(_norm(c.image), set()).add(p.name)
            if c.image or not re.fullmatch(r"c\d+", c.name):   # a table row's placeholders have neither
                by_container.setdefault(c.name, set()).add(p.name)
    return by_image, by_container


def _attach(st: _State, by_image: dict[str, set[str]],
            by_container: dict[str, set[str]]) -> tuple[list[kube.Event], list[str]]:
    """Every pending message becomes an event of each pod it is tied to.  A
    failure no pod claims becomes an :data:`UNOWNED` event naming its image:
    it is reported by the image, never dropped."""
    events: list[kube.Event] = list(st.events)
    journal = list(st.journal)
    seen: set[tuple] = set()
    for m in st.pending:
        pods = _owners(m, st, by_image, by_container)
        if not pods:
            if m.source not in _RUNTIME:
                journal.append(m.text)
            if m.type != "Normal" or t.BACK_OFF.search(m.text):
                st.unowned.append(m)
            continue
        for name in sorted(pods):
            p = _pod_for(st, name, m.namespace)
            key = (p.namespace, name, m.reason, m.text)
            if key not in seen:
                seen.add(key)
                events.append(kube.Event(p.namespace, "Pod", name, reason=m.reason, message=m.text, type=m.type,
                                         source=m.source))
    texts = {m.text: m for m in st.unowned}          # a line pasted twice counts once
    events += [kube.Event("", UNOWNED, m.image, reason=m.reason, message=text, type="Warning", source=m.source)
               for text, m in texts.items()]
    return events, journal


def _settled(pods: dict[str, kube.Pod], events: list[kube.Event], journal: list[str]) -> list[kube.Event]:
    """Failures of pods that the paste also shows running: history, but
    shown, so they are reported by their image as the pod's are not."""
    healthy = {p.name for p in pods.values() if p.healthy}
    seen = {e.message for e in events if e.object_kind == UNOWNED}
    out: dict[str, kube.Event] = {}
    for e in events:
        if e.object_kind == "Pod" and e.object_name in healthy and (e.type != "Normal" or t.BACK_OFF.search(e.message)):
            out.setdefault(e.message, kube.Event("", UNOWNED, t.image_in(e.message), reason=e.reason,
                                                 message=e.message, type="Warning", source=e.source))
    for line in journal:
        k = t.POD_KEY.search(line)
        if k and k.group(2) in healthy and t.FAILURE_LEVEL.search(line):
            out.setdefault(line, kube.Event("", UNOWNED, t.image_in(line), reason="Failed", message=line,
                                            type="Warning", source="journal"))
    return [e for text, e in out.items() if text not in seen]


def _pod_for(st: _State, name: str, namespace: str) -> kube.Pod:
    """The pod a message is tied to, made known (or moved to the message's namespace)."""
    p = st.pods.get(name)
    if p is None:
        sandbox_ns = next((sb.namespace for sb in st.sandboxes.values() if sb.name == name), "")
        st.pods[name] = p = kube.Pod(namespace or sandbox_ns or "default", name, status_text="Unknown")
    elif namespace and p.namespace == "default" and namespace != "default":
        st.pods[name] = p = replace(p, namespace=namespace)
    return p


def _owners(m: _Pending, st: _State, by_image: dict[str, set[str]], by_container: dict[str, set[str]]) -> set[str]:
    """By pod name, else by image name, else by container name."""
    if m.pod:
        return {m.pod}
    if m.image and _norm(m.image) in by_image:
        return by_image[_norm(m.image)]
    if m.image:
        named = system.named_after(m.image, set(st.pods) | {sb.name for sb in st.sandboxes.values()})
        if named:
            return named
    if m.container:
        if m.container in by_container:
            return by_container[m.container]
        named = system.pods_of(m.container, set(st.pods) | {sb.name for sb in st.sandboxes.values()})
        if named:
            return named
    return set()


def _norm(image: str) -> str:
    try:
        return reference.parse(image).normalized()
    except BadInput:  # a malformed name in a paste is matched as written
        return image
