"""Line parsers for what people paste: table headers and rows, command lines.

Each shape is recognised by its header (the column titles kubectl and crictl
print) or, for a command line, by the command after any shell prompt.  Rows
are parsed with the columns their printer writes (kubectl's
``printers/tablegenerator``, crictl's ``tabwriter`` output); a row that does
not fit ends the table.  Pure: strings in, small values out.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from ..node import kube

# -- headers ---------------------------------------------------------------------
PODS_HDR = re.compile(r"^\s*(NAMESPACE\s+)?NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\b")
GET_EVENTS_HDR = re.compile(r"^\s*(NAMESPACE\s+)?LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\s*$")
DESCRIBE_EVENTS_HDR = re.compile(r"^\s*Type\s+Reason\s+Age\s+From\s+Message\s*$")
CRICTL_PODS_HDR = re.compile(r"^\s*POD ID\s+CREATED\s+STATE\s+NAME\s+NAMESPACE\b")
CRICTL_PS_HDR = re.compile(r"^\s*CONTAINER\s+IMAGE\s+CREATED\s+STATE\s+NAME\s+ATTEMPT\s+POD ID\b")
CRICTL_IMAGES_HDR = re.compile(r"^\s*IMAGE\s+TAG\s+IMAGE ID\s+SIZE\s*$")

# journald's short format: "<month> <day> <time> <host> <unit>[<pid>]:"; the
# month is the locale's (Nov, nov., 11月, …), so it is any word.
JOURNAL_PREFIX = re.compile(r"^\S+\s+\d{1,2}日?\s+\d\d:\d\d:\d\d\s+\S+\s+[\w.@-]+\[\d+\]:\s")
KLOG = re.compile(r"\b[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\]")
# containerd's logrus text format (containerd.log, or the k3s journal); crictl
# writes the same format when stderr is not a terminal.
LOGRUS = re.compile(r'(^|\s)time="[^"]+"\s+level=\w+\s+msg=')
# logrus's terminal format, as crictl prints its last error: "FATA[0002] pulling image: …"
# (cri-tools cmd/crictl: the command's error wrapped as "pulling image: %w", logged by logrus.Fatal).
CRICTL_FATAL = re.compile(r"^\s*(?:FATA|ERRO)\[\d+\]\s+\S")
# A line that reports a failure by its level: klog's E/F severity, logrus's error/fatal.
FAILURE_LEVEL = re.compile(r"\b[EF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\]|\blevel=(?:error|fatal)\b"
                           r"|^\s*(?:FATA|ERRO)\[\d+\]")
# containerd's RunPodSandbox lines name the pod in the CRI metadata they print
# (pkg/cri instrumented_service.go: "RunPodSandbox for %+v failed, error").
SANDBOX_META = re.compile(r"PodSandboxMetadata\{Name:([^,}]+),Uid:[^,}]*,Namespace:([^,}]+)")

# klog's structured key naming a line's pod: pod="ns/name" (escaped once more inside err="…").
POD_KEY = re.compile(r'pod=\\*"([^"/\\]+)/([^"\\]+)\\*"')
# kubelet's event when it waits before pulling again (pkg/kubelet/images: BackOffPullImage,
# an event of type Normal): the pull failed, the reason is in an earlier event.
BACK_OFF = re.compile(r"^back-off pulling image ", re.IGNORECASE)
# Container-log lines that name a failure on their own (kubectl logs).
LOG_FAILURE = re.compile(
    r"exec format error|exec user process caused|executable file not found|no such file or directory"
    r"|^panic: |^fatal error: |\bSIGSEGV\b|segmentation fault|illegal instruction", re.IGNORECASE)
# crictl inspect's JSON: a container that ended with a non-zero status (132 = 128 + SIGILL).
CRICTL_EXIT = re.compile(r'"exitCode":\s*([1-9]\d*)')
EXEC_PATH = re.compile(r"\bexec:?\s+\\?\"?(/?[\w./-]+)")

_READY = re.compile(r"^\d+/\d+$")
_IMAGE_IN_TEXT = re.compile(r'(?:image|Image)\s*=?\s*\\*"([^"\\\s]+)\\*"')
_PROMPT = re.compile(r"^\s*(?:\S*[$#]\s+|\[[^\]]*\][$#]\s+|>\s+)?(?:sudo\s+(?:-\S+\s+)*)?")


@dataclass(frozen=True, slots=True)
class Command:
    """What a pasted command line says about the output below it."""

    kind: str                  # pods | describe | logs | events | crictl-pods | crictl-ps | crictl-images | journal
    namespace: str = ""        # -n / --namespace, "" when not given
    name: str = ""             # the pod for describe / logs
    container: str = ""        # logs -c
    all_namespaces: bool = False


def command(line: str) -> Command | None:
    """The kubectl/crictl/journalctl command on a pasted line, after any prompt."""
    m = _PROMPT.match(line)
    rest = line[m.end():] if m else line
    try:
        words = shlex.split(rest, comments=False)
    except ValueError:
        return None
    if words[:2] == ["k3s", "kubectl"] or words[:2] == ["k3s", "crictl"]:
        words = words[1:]
    if not words:
        return None
    tool = words[0].rsplit("/", 1)[-1]
    if tool in ("kubectl", "k"):
        return _kubectl(words[1:])
    if tool == "crictl" and len(words) > 1:
        kind = {"pods": "crictl-pods", "ps": "crictl-ps", "images": "crictl-images", "img": "crictl-images",
                "logs": "logs"}.get(words[1])
        return Command(kind, name=words[-1] if kind == "logs" else "") if kind else None
    if tool == "journalctl":
        return Command("journal")
    return None


def _kubectl(args: list[str]) -> Command | None:
    ns, flags_done, positional, container, all_ns = "", False, [], "", False
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-n", "--namespace") and i + 1 < len(args):
            ns, i = args[i + 1], i + 2
            continue
        if a.startswith("--namespace="):
            ns = a.split("=", 1)[1]
        elif a.startswith("-n") and len(a) > 2 and not a.startswith("--"):
            ns = a[2:]
        elif a in ("-A", "--all-namespaces"):
            all_ns = True
        elif a in ("-c", "--container") and i + 1 < len(args):
            container, i = args[i + 1], i + 2
            continue
        elif a.startswith("--container="):
            container = a.split("=", 1)[1]
        elif a in ("-o", "--output", "-l", "--selector", "--tail", "--since") and i + 1 < len(args):
            i += 2
            continue
        elif not a.startswith("-") and not flags_done:
            positional.append(a)
        i += 1
    if not positional:
        return None
    verb = positional[0]
    objects = [p for p in positional[1:]]
    if verb == "get" and objects and objects[0] in ("pods", "pod", "po"):
        return Command("pods", ns, all_namespaces=all_ns)
    if verb == "get" and objects and objects[0] in ("events", "event", "ev"):
        return Command("events", ns, all_namespaces=all_ns)
    if verb == "describe" and objects and objects[0].split("/")[0] in ("pod", "pods", "po"):
        name = objects[0].split("/", 1)[1] if "/" in objects[0] else (objects[1] if len(objects) > 1 else "")
        return Command("describe", ns, name)
    if verb == "logs" and objects:
        name = objects[0].split("/", 1)[1] if objects[0].startswith("pod/") else objects[0]
        return Command("logs", ns, name, container)
    return None


# -- rows ------------------------------------------------------------------------
def pod_row(line: str, has_ns: bool, namespace: str) -> kube.Pod | None:
    # RESTARTS may read "3 (2m ago)": drop the parenthesis before splitting.
    cols = re.sub(r"\s\([^)]*ago\)", "", line).split()
    if has_ns:
        if len(cols) < 6:
            return None
        namespace, cols = cols[0], cols[1:]
    elif len(cols) < 5:
        return None
    name, ready, status = cols[0], cols[1], cols[2]
    if not _READY.match(ready):
        return None
    node = cols[6] if len(cols) > 6 else ""
    have, want = (int(x) for x in ready.split("/"))
    containers = tuple(kube.Container(f"c{i}", "", ready=i < have) for i in range(want))
    return kube.Pod(namespace, name, phase="Running" if status == "Running" else "Pending", node=node,
                    containers=containers, status_text=status)


_DESCRIBE_EVENT = re.compile(r"^\s*(Normal|Warning)\s{2,}(\S+)\s{2,}(.+?)\s{2,}(\S.*?)\s{2,}(\S.*)$")


def describe_event(line: str) -> tuple[str, str, str, str] | None:
    """(type, reason, source, message) of a describe Events row."""
    m = _DESCRIBE_EVENT.match(line)
    return (m.group(1), m.group(2), m.group(4).split(",")[0], m.group(5)) if m else None


_GET_EVENT = re.compile(r"^\s*(\S+(?:\s\(x\d+ over \S+\))?)\s+(Normal|Warning)\s+(\S+)\s+(\w+)/(\S+)\s+(\S.*)$")


def get_event(line: str, has_ns: bool, namespace: str) -> kube.Event | None:
    """A ``kubectl get events`` row: [NAMESPACE] LAST SEEN TYPE REASON OBJECT MESSAGE."""
    if has_ns:
        ns, _, line = line.strip().partition(" ")
        namespace = ns
    m = _GET_EVENT.match(line)
    if not m:
        return None
    kind = {"pod": "Pod", "node": "Node", "job": "Job", "replicaset": "ReplicaSet",
            "deployment": "Deployment"}.get(m.group(4).lower(), m.group(4))
    return kube.Event(namespace, kind, m.group(5), reason=m.group(3), message=m.group(6), type=m.group(2),
                      last_seen=m.group(1))


# kubectl's LAST SEEN column: a duration as translateTimestampSince prints it
# (41m, 2m14s, 3d4h), or <unknown>; kubectl >= 1.26 may add "(x4 over 41m)".
_LAST_SEEN = r"(?:(?:\d+[smhdy])+|<unknown>|<invalid>)(?:\s\(x\d+ over \S+\))?"
_EVENT_ROW = re.compile(r"^\s*(?:([a-z0-9][-a-z0-9.]*)\s+)??" + _LAST_SEEN
                        + r"\s+(?:Normal|Warning)\s+\S+\s+\w+/\S+\s+\S")


def event_row(line: str) -> tuple[kube.Event, bool] | None:
    """A ``kubectl get events`` row pasted without its header: the event, and
    whether the row has a NAMESPACE column.  The LAST SEEN duration and the
    TYPE word make the shape unmistakable."""
    m = _EVENT_ROW.match(line)
    if not m:
        return None
    has_ns = m.group(1) is not None
    e = get_event(line, has_ns, "")
    return (e, has_ns) if e else None


def crictl_pod(line: str) -> kube.Sandbox | None:
    # POD ID  CREATED  STATE  NAME  NAMESPACE  ATTEMPT  RUNTIME; CREATED is "2 hours ago".
    m = re.match(r"^\s*([0-9a-f]{6,64})\s+(.+?ago)\s+(Ready|NotReady)\s+(\S+)\s+(\S+)\s+(\d+)", line)
    if not m:
        return None
    return kube.Sandbox(m.group(1), m.group(4), m.group(5), "", "SANDBOX_" + m.group(3).upper(), int(m.group(6)))


@dataclass(frozen=True, slots=True)
class CriContainer:
    id: str
    image: str
    state: str
    name: str
    attempt: int
    pod_id: str
    pod: str


def crictl_container(line: str) -> CriContainer | None:
    # CONTAINER  IMAGE  CREATED  STATE  NAME  ATTEMPT  POD ID  [POD]
    m = re.match(r"^\s*([0-9a-f]{6,64})\s+(\S+)\s+(.+?ago)\s+(\w+)\s+(\S+)\s+(\d+)\s+([0-9a-f]{6,64})(?:\s+(\S+))?",
                 line)
    if not m:
        return None
    return CriContainer(m.group(1), m.group(2), m.group(4), m.group(5), int(m.group(6)), m.group(7),
                        m.group(8) or "")


def crictl_image(line: str) -> kube.Image | None:
    # IMAGE  TAG  IMAGE ID  SIZE
    cols = line.split()
    if len(cols) < 4 or not re.fullmatch(r"[0-9a-f]{6,64}", cols[2]):
        return None
    tag = f"{cols[0]}:{cols[1]}" if cols[1] != "<none>" else cols[0]
    return kube.Image(cols[2], (tag,))


# The kubelet's "Unhandled Error" for a container that would not start prints
# the container spec (Go's %+v: ``&Container{Name:x,Image:y,…}``) and the pod
# as NAME_NAMESPACE(UID) (kuberuntime_manager.go, format.Pod).
_SPEC_IMAGE = re.compile(r"&Container\{Name:[^,}]*,Image:([^,}\s]+)")
_START_FAILED_POD = re.compile(r"start failed in pod ([a-z0-9][a-z0-9.-]*)_([a-z0-9][a-z0-9-]*)\(")


def sandbox_pod(text: str) -> tuple[str, str]:
    """(namespace, name) of the pod a runtime line names (containerd's
    RunPodSandbox metadata, the kubelet's "start failed in pod"), or ("", "")."""
    m = SANDBOX_META.search(text)
    if m:
        return m.group(2), m.group(1)
    m = _START_FAILED_POD.search(text)
    return (m.group(2), m.group(1)) if m else ("", "")


def image_in(text: str) -> str:
    """The image a message names (``image "x"``, ``image=\\"x\\"``, a
    container spec's ``Image:x``), or ""."""
    m = _IMAGE_IN_TEXT.search(text) or _SPEC_IMAGE.search(text)
    return m.group(1) if m else ""


def exec_target(text: str) -> str:
    """The program a runtime error says it tried to exec, by base name."""
    m = EXEC_PATH.search(text)
    return m.group(1).rstrip(":").rsplit("/", 1)[-1] if m else ""


# -- kubectl describe pod ----------------------------------------------------------
@dataclass
class Describe:
    """One ``kubectl describe pod`` as read so far."""

    name: str
    namespace: str = ""
    phase: str = ""
    containers: list[dict] = field(default_factory=list)


def describe_line(d: Describe, line: str, section: str, cur: dict | None) -> tuple[str, dict | None]:
    """One line of a describe: a top-level field, a container's field; returns
    the section (containers, init) and the container it is in."""
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
                elif key == "Exit Code" and val.isdigit():
                    cur["last_exit_code" if cur["in_last"] else "exit_code"] = int(val)
    return section, cur
