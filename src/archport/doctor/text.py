"""Facts from pasted text: what people paste into issues and chats.

Recognized, in any order and mixed together:

* ``kubectl get pods [-A] [-o wide]`` tables (NAMESPACE is optional; RESTARTS
  may read ``3 (2m ago)``; wide adds IP, NODE, …);
* ``kubectl describe pod`` output: ``Name:``/``Namespace:`` and the Events
  table (Type, Reason, Age, From, Message, separated by two or more spaces);
* ``crictl pods`` tables (POD ID, CREATED, STATE, NAME, NAMESPACE, ATTEMPT…);
* journal lines in klog format, with journald's escaped quotes
  (``… kuberuntime_manager.go:815] "CreatePodSandbox for pod failed" err="…" pod="ns/name"``).

Parsing is tolerant: unknown lines are skipped and a partial paste still gives
what it has.  Nothing at all recognized is bad input.
"""

from __future__ import annotations

import re

from ..errors import BadInput
from . import kube
from .facts import Facts

_PODS_HDR = re.compile(r"^\s*(NAMESPACE\s+)?NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\b")
_CRICTL_HDR = re.compile(r"^\s*POD ID\s+CREATED\s+STATE\s+NAME\s+NAMESPACE\b")
_EVENTS_HDR = re.compile(r"^\s*Type\s+Reason\s+Age\s+From\s+Message\s*$")
_EVENT_ROW = re.compile(r"^\s*(Normal|Warning)\s{2,}(\S+)\s{2,}(.+?)\s{2,}(\S.*?)\s{2,}(\S.*)$")
_KLOG = re.compile(r"\b[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\]")
_READY = re.compile(r"^\d+/\d+$")


def parse(text: str, source: str = "pasted text") -> Facts:
    lines = text.splitlines()
    pods: dict[str, kube.Pod] = {}
    events: list[kube.Event] = []
    sandboxes: list[kube.Sandbox] = []
    journal: list[str] = []
    mode = ""
    describe_ns, describe_name = "default", ""
    for raw in lines:
        line = raw.rstrip()
        if not line.strip():
            if mode == "events":
                mode = ""
            continue
        if _PODS_HDR.match(line):
            mode = "pods-ns" if line.lstrip().startswith("NAMESPACE") else "pods"
            continue
        if _CRICTL_HDR.match(line):
            mode = "crictl"
            continue
        if _EVENTS_HDR.match(line):
            mode = "events"
            continue
        if _KLOG.search(line) or ("k3s[" in line and ("err=" in line or "level=" in line)):
            journal.append(line)
            continue
        m = re.match(r"^Name:\s+(\S+)\s*$", line)
        if m:
            describe_name, mode = m.group(1), "describe"
            continue
        m = re.match(r"^Namespace:\s+(\S+)\s*$", line)
        if m:
            describe_ns = m.group(1)
            continue
        if mode in ("pods", "pods-ns"):
            pod = _pod_row(line, mode == "pods-ns")
            if pod:
                pods.setdefault(pod.key, pod)
                continue
            mode = ""
        elif mode == "crictl":
            sb = _crictl_row(line)
            if sb:
                sandboxes.append(sb)
                continue
            mode = ""
        elif mode == "events":
            if line.strip().startswith("----"):
                continue
            e = _EVENT_ROW.match(line)
            if e and describe_name:
                events.append(kube.Event(describe_ns, "Pod", describe_name, "", e.group(2), e.group(5),
                                         e.group(1), 1, e.group(4).split(",")[0]))
                continue
            mode = ""
    # A pod seen only in a describe becomes a pod too.
    for e in events:
        key = f"{e.namespace}/{e.object_name}"
        if key not in pods:
            pods[key] = kube.Pod(e.namespace, e.object_name, status_text="Unknown")
    for line in journal:
        m = re.search(r'pod=\\*"([^"/\\]+)/([^"\\]+)\\*"', line)
        if m and f"{m.group(1)}/{m.group(2)}" not in pods:
            pods[f"{m.group(1)}/{m.group(2)}"] = kube.Pod(m.group(1), m.group(2), status_text="Unknown")
    if not (pods or events or sandboxes or journal):
        raise BadInput(f"{source}: no kubectl table, describe output, crictl table or k3s journal line found")
    missing = [n for n, v in (("pods table", any(p.status_text != "Unknown" for p in pods.values())),
                              ("events", events), ("crictl pods", sandboxes), ("journal", journal)) if not v]
    return Facts(cluster=kube.Cluster(tuple(pods.values()), tuple(events), ()), sandboxes=tuple(sandboxes),
                 journal=tuple(journal), missing=tuple(missing), source=source)


def _pod_row(line: str, has_ns: bool) -> kube.Pod | None:
    # RESTARTS may be "3 (2m ago)": drop the parenthesis before splitting.
    cols = re.sub(r"\s\([^)]*ago\)", "", line).split()
    if has_ns:
        if len(cols) < 6:
            return None
        ns, cols = cols[0], cols[1:]
    else:
        if len(cols) < 5:
            return None
        ns = "default"
    name, ready, status = cols[0], cols[1], cols[2]
    if not _READY.match(ready):
        return None
    node = cols[6] if len(cols) > 6 else ""
    have, want = (int(x) for x in ready.split("/"))
    containers = tuple(kube.Container(f"c{i}", "", ready=i < have) for i in range(want))
    return kube.Pod(ns, name, phase="Running" if status == "Running" else "Pending", node=node,
                    containers=containers, status_text=status)


def _crictl_row(line: str) -> kube.Sandbox | None:
    # POD ID  CREATED  STATE  NAME  NAMESPACE  ATTEMPT  RUNTIME; CREATED is "2 hours ago".
    m = re.match(r"^\s*([0-9a-f]{6,64})\s+(.+?ago)\s+(Ready|NotReady)\s+(\S+)\s+(\S+)\s+(\d+)", line)
    if not m:
        return None
    return kube.Sandbox(m.group(1), m.group(4), m.group(5), "", "SANDBOX_" + m.group(3).upper(), int(m.group(6)))
