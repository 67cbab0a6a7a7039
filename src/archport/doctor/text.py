"""Facts from pasted text: whatever people paste into issues and chats.

Recognised, in any order, mixed, and pasted more than once (duplicates
collapse):

* ``kubectl get pods [-A | -n NS] [-o wide]`` tables;
* ``kubectl describe pod`` output, one or several, with or without the
  command line: ``Name:``/``Namespace:``, the Containers section (image,
  state, reason, message) and the Events table;
* a bare ``Events:`` table with no pod header;
* ``kubectl get events [-A]`` tables;
* ``kubectl logs [--previous] POD [-c C]`` output, with or without its
  command line;
* ``journalctl -u k3s`` lines (klog or containerd's logrus format; the month
  in any locale, CJK included);
* ``crictl pods`` / ``crictl ps`` / ``crictl images`` tables;
* containerd.log lines.

A command line (after any shell prompt) says what the output below it is and
which namespace it is in (``-n``).  Every message is then tied to its pod: by
pod name, else by the image it names, else by container name (from a describe,
``crictl ps``, ``logs -c``, or the program an exec error names).  Messages
that no pod claims stay in the journal.  Unknown lines are skipped, so a
partial paste still gives what it has; nothing recognised at all is bad input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .. import reference
from ..errors import BadInput
from . import kube
from . import texttables as t
from .facts import Facts

_POD_KEY = re.compile(r'pod=\\*"([^"/\\]+)/([^"\\]+)\\*"')


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
class _Describe:
    name: str
    namespace: str = ""
    phase: str = ""
    containers: list[dict] = field(default_factory=list)


@dataclass
class _State:
    pods: dict[str, kube.Pod] = field(default_factory=dict)          # by pod name
    described: dict[str, _Describe] = field(default_factory=dict)
    pending: list[_Pending] = field(default_factory=list)
    events: list[kube.Event] = field(default_factory=list)          # non-pod events, kept as they are
    sandboxes: dict[str, kube.Sandbox] = field(default_factory=dict)
    cri: dict[str, t.CriContainer] = field(default_factory=dict)
    images: dict[str, kube.Image] = field(default_factory=dict)
    journal: list[str] = field(default_factory=list)
    containerd_log: list[str] = field(default_factory=list)
    seen_table: bool = False


def parse(text: str, source: str = "pasted text") -> Facts:
    st = _State()
    cmd: t.Command | None = None
    mode, desc, section, cur = "", None, "", None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            if mode in ("events", "logs-bare"):
                mode = ""
            continue
        new = t.command(line)
        if new is not None:
            cmd, mode, desc = new, ("logs" if new.kind == "logs" else ""), None
            continue
        ns_hint = cmd.namespace if cmd else ""
        m = t.PODS_HDR.match(line)
        if m:
            mode, st.seen_table = ("pods-ns" if m.group(1) else "pods"), True
            continue
        m = t.GET_EVENTS_HDR.match(line)
        if m:
            mode = "get-events-ns" if m.group(1) else "get-events"
            continue
        if t.CRICTL_PODS_HDR.match(line):
            mode = "crictl-pods"
            continue
        if t.CRICTL_PS_HDR.match(line):
            mode = "crictl-ps"
            continue
        if t.CRICTL_IMAGES_HDR.match(line):
            mode = "crictl-images"
            continue
        if t.DESCRIBE_EVENTS_HDR.match(line):
            mode = "events"
            continue
        if t.LOGRUS.search(line) and not t.JOURNAL_PREFIX.match(line):
            st.containerd_log.append(line)
            _from_runtime_line(st, line)
            continue
        if t.KLOG.search(line) or t.JOURNAL_PREFIX.match(line):
            st.journal.append(line)
            if not _POD_KEY.search(line):
                _from_runtime_line(st, line)
            continue
        m = re.match(r"^Name:\s+(\S+)\s*$", line)
        if m:
            desc = st.described.setdefault(m.group(1), _Describe(m.group(1), ns_hint if cmd and
                                                                 cmd.kind == "describe" else ""))
            mode, section, cur = "describe", "", None
            continue
        if desc is not None and mode == "describe":
            section, cur = _describe_line(desc, line, section, cur)
            continue
        if mode in ("pods", "pods-ns"):
            pod = t.pod_row(line, mode == "pods-ns", ns_hint or "default")
            if pod:
                _add_pod(st, pod, explicit=mode == "pods-ns" or bool(ns_hint))
                continue
            mode = ""
        elif mode in ("get-events", "get-events-ns"):
            e = t.get_event(line, mode == "get-events-ns", ns_hint)
            if e:
                if e.object_kind == "Pod":
                    st.pending.append(_Pending(e.message, e.reason, e.type, e.object_name, e.namespace,
                                               source=e.source))
                else:
                    st.events.append(e)
                continue
            mode = ""
        elif mode in _CRICTL_ROWS:
            parse_row, table, key = _CRICTL_ROWS[mode]
            row = parse_row(line)
            if row:
                getattr(st, table).setdefault(key(row), row)
                continue
            mode = ""
        elif mode == "events":
            if line.strip().startswith("----"):
                continue
            row = t.describe_event(line)
            if row:
                typ, reason, src, msg = row
                pod = desc.name if desc is not None else ""
                ns = (desc.namespace if desc is not None else "") or ns_hint
                st.pending.append(_Pending(msg, reason, typ, pod, ns, t.image_in(msg), source=src))
                continue
            mode = ""
        elif mode == "logs" and cmd is not None:
            st.pending.append(_Pending(line.strip(), "Logs", "Warning", cmd.name, cmd.namespace,
                                       container=cmd.container or t.exec_target(line)))
            continue
        if t.LOG_FAILURE.search(line):
            # A container's own output, pasted without `kubectl logs`.
            st.pending.append(_Pending(line.strip(), "Logs", container=t.exec_target(line)))
            mode = "logs-bare"
    return _facts(st, source)


# crictl tables: the row parser, the _State table it fills, and its key there.
_CRICTL_ROWS = {
    "crictl-pods": (t.crictl_pod, "sandboxes", lambda sb: sb.id),
    "crictl-ps": (t.crictl_container, "cri", lambda c: c.id),
    "crictl-images": (t.crictl_image, "images", lambda img: img.tags[0]),
}


def _describe_line(d: _Describe, line: str, section: str, cur: dict | None) -> tuple[str, dict | None]:
    if re.match(r"^Namespace:\s+(\S+)", line):
        d.namespace = line.split()[1]
        return section, cur
    if re.match(r"^Status:\s+(\S+)", line):
        d.phase = line.split()[1]
        return section, cur
    if re.match(r"^(Init )?Containers:\s*$", line):
        return ("init" if line.startswith("Init") else "containers"), None
    if re.match(r"^\S", line):                    # another top-level field ends the section
        return "", None
    if section in ("containers", "init"):
        m = re.match(r"^  ([\w.-]+):\s*$", line)
        if m:
            cur = {"name": m.group(1), "init": section == "init", "state": "", "reason": "", "message": "",
                   "image": "", "ready": False, "last_reason": "", "last_message": "", "in_last": False}
            d.containers.append(cur)
            return section, cur
        if cur is not None:
            m = re.match(r"^\s+(Image|State|Last State|Reason|Message|Ready|Exit Code):\s*(.*)$", line)
            if m:
                key, val = m.group(1), m.group(2).strip()
                if key == "Image":
                    cur["image"] = val
                elif key == "State":
                    cur["state"], cur["in_last"] = val.lower(), False
                elif key == "Last State":
                    cur["in_last"] = True
                elif key == "Ready":
                    cur["ready"] = val == "True"
                elif key in ("Reason", "Message"):
                    slot = ("last_" if cur["in_last"] else "") + key.lower()
                    cur[slot] = val
    return section, cur


def _from_runtime_line(st: _State, line: str) -> None:
    """A journal or containerd line without ``pod=``: tie it by the image it names."""
    image = t.image_in(line)
    if image and re.search(r"level=(error|warning)|\bE\d{4} |failed|error", line, re.IGNORECASE):
        st.pending.append(_Pending(line, "Failed", image=image, source="journal"))


def _add_pod(st: _State, pod: kube.Pod, explicit: bool) -> None:
    old = st.pods.get(pod.name)
    if old is None or (explicit and old.namespace == "default"):
        st.pods[pod.name] = pod


def _facts(st: _State, source: str) -> Facts:
    # Describes become pods (or fill in the table's bare ones).
    for d in st.described.values():
        containers = tuple(kube.Container(c["name"], c["image"], ready=c["ready"], init=c["init"],
                                          state=c["state"], reason=c["reason"], message=c["message"],
                                          last_reason=c["last_reason"], last_message=c["last_message"])
                           for c in d.containers)
        old = st.pods.get(d.name)
        ns = d.namespace or (old.namespace if old else "default")
        if old is None:
            st.pods[d.name] = kube.Pod(ns, d.name, phase=d.phase, containers=containers,
                                       status_text="" if containers else "Unknown")
        else:
            st.pods[d.name] = replace(old, namespace=ns, containers=containers or old.containers)
    # crictl ps gives each container's image and pod.
    sandbox_pod = {sb.id: sb for sb in st.sandboxes.values()}
    by_container: dict[str, set[str]] = {}
    by_image: dict[str, set[str]] = {}
    image_of_id = {img.id: img.tags[0] for img in st.images.values()}
    for c in st.cri.values():
        image = next((tag for iid, tag in image_of_id.items() if iid.startswith(c.image) or
                      c.image.startswith(iid)), c.image)
        pod = c.pod or next((sb.name for sid, sb in sandbox_pod.items()
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
    events: list[kube.Event] = list(st.events)
    journal = list(st.journal)
    seen: set[tuple] = set()
    for m in st.pending:
        pods = _owners(m, st, by_image, by_container)
        if not pods:
            if m.source != "journal":
                journal.append(m.text)
            continue
        for name in sorted(pods):
            p = st.pods.get(name)
            sandbox_ns = next((sb.namespace for sb in st.sandboxes.values() if sb.name == name), "")
            ns = m.namespace or (p.namespace if p else sandbox_ns or "default")
            if p is None:
                st.pods[name] = p = kube.Pod(ns, name, status_text="Unknown")
            elif m.namespace and p.namespace == "default" and m.namespace != "default":
                st.pods[name] = p = replace(p, namespace=m.namespace)
            key = (p.namespace, name, m.reason, m.text)
            if key in seen:
                continue
            seen.add(key)
            events.append(kube.Event(p.namespace, "Pod", name, reason=m.reason, message=m.text, type=m.type,
                                     source=m.source))
    # Journal lines naming their pod (klog's pod="ns/name") make the pod known.
    for line in st.journal:
        k = _POD_KEY.search(line)
        if k and k.group(2) not in st.pods:
            st.pods[k.group(2)] = kube.Pod(k.group(1), k.group(2), status_text="Unknown")
    # Events keep the namespace their pod ended with.
    pods = st.pods
    events = [replace(e, namespace=pods[e.object_name].namespace) if e.object_kind == "Pod"
              and e.object_name in pods else e for e in events]
    if not (pods or events or st.sandboxes or journal or st.cri or st.images or st.containerd_log):
        raise BadInput(f"{source}: no kubectl table, describe output, crictl table or k3s journal line found")
    missing = [n for n, v in (("pods table", st.seen_table), ("events", events),
                              ("crictl pods", st.sandboxes), ("journal", journal)) if not v]
    return Facts(cluster=kube.Cluster(tuple(pods.values()), tuple(events), ()),
                 sandboxes=tuple(st.sandboxes.values()), images=tuple(st.images.values()),
                 journal=tuple(journal), containerd_log=tuple(st.containerd_log), missing=tuple(missing),
                 source=source)


def _owners(m: _Pending, st: _State, by_image: dict[str, set[str]], by_container: dict[str, set[str]]) -> set[str]:
    """By pod name, else by image name, else by container name."""
    if m.pod:
        return {m.pod}
    if m.image and _norm(m.image) in by_image:
        return by_image[_norm(m.image)]
    if m.image:
        named = _named_after(m.image, set(st.pods) | {sb.name for sb in st.sandboxes.values()})
        if named:
            return named
    if m.container:
        if m.container in by_container:
            return by_container[m.container]
        named = _pods_of(m.container, set(st.pods) | {sb.name for sb in st.sandboxes.values()})
        if named:
            return named
    return set()


def _pods_of(workload: str, names: set[str]) -> set[str]:
    """Pods of a Deployment, DaemonSet or Job called ``workload``: their
    names add one or two generated suffixes (``coredns-b96499967-7xk9p``)."""
    return {n for n in names if re.fullmatch(re.escape(workload) + r"(-[a-z0-9]{5,10}){1,2}", n)}


def _named_after(image: str, names: set[str]) -> set[str]:
    """Pods whose workload is named after the image's repository, as k3s's
    manifests name them: ``rancher/mirrored-metrics-server`` runs in
    ``metrics-server-…``, ``rancher/mirrored-coredns-coredns`` in ``coredns-…``."""
    try:
        repo = reference.parse(image).path.rsplit("/", 1)[-1]
    except BadInput:
        return set()
    repo = repo.removeprefix("mirrored-")
    parts = repo.split("-")
    for i in range(len(parts)):
        found = _pods_of("-".join(parts[i:]), names)
        if found:
            return found
    return set()


def _norm(image: str) -> str:
    try:
        return reference.parse(image).normalized()
    except BadInput:  # a malformed name in a paste is matched as written
        return image
