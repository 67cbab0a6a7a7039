"""What deploy reads from a board, pyinfra-style: each fact is a shell
command and a pure parser.  All facts go in one ssh round trip (one script
whose sections are delimited by marker lines); file contents travel in
base64, so a backup and a diff see the exact bytes.

``root`` prefixes every path (a mounted board image, or a test's board
directory); the commands themselves are the board's.
"""

from __future__ import annotations

import base64
import binascii
import json
import shlex
from dataclasses import dataclass, field

from ..errors import ArchportError, BadInput
from ..k3s.behaviour import K3sVersion, version_of as parse_version

ETC = "/etc/rancher/k3s"
REGISTRIES = f"{ETC}/registries.yaml"
CONFIG = f"{ETC}/config.yaml"
DROPIN_DIR = f"{ETC}/config.yaml.d"
DROPIN = f"{DROPIN_DIR}/50-archport.yaml"
CA_DIR = f"{ETC}/archport"
IMAGES = "/var/lib/rancher/k3s/agent/images"
MANIFESTS = "/var/lib/rancher/k3s/server/manifests"

_MARK = "@@archport-fact@@"
_END = "@@archport-rc@@"
_UNITS = ("/etc/systemd/system/k3s.service", "/etc/systemd/system/k3s-agent.service",
          "/lib/systemd/system/k3s.service", "/lib/systemd/system/k3s-agent.service",
          "/usr/lib/systemd/system/k3s.service", "/usr/lib/systemd/system/k3s-agent.service",
          "/etc/init.d/k3s", "/etc/init.d/k3s-agent")
# A pod waiting for these reasons retries only after the kubelet's back-off.
PULL_FAILURES = ("ImagePullBackOff", "ErrImagePull")


@dataclass(frozen=True, slots=True)
class Pod:
    namespace: str
    name: str
    images: tuple[str, ...]
    waiting: tuple[str, ...]      # container waiting reasons

    @property
    def pull_failing(self) -> bool:
        return any(r in PULL_FAILURES for r in self.waiting)

    @property
    def creating(self) -> bool:
        """Still without a sandbox: when the pause image cannot be pulled the
        kubelet reports ``ContainerCreating`` and retries only after its back-off."""
        return bool(self.waiting) and all(r == "ContainerCreating" for r in self.waiting)


@dataclass(frozen=True, slots=True)
class Facts:
    version: K3sVersion | None
    version_text: str
    hostname: str
    init: str                     # systemd | openrc | unknown
    role: str                     # server | agent
    files: dict[str, bytes | None] = field(default_factory=dict)   # board path -> bytes, None = absent
    images: dict[str, int] = field(default_factory=dict)           # agent/images/ name -> size
    airgap_sha256: str | None = None
    pods: tuple[Pod, ...] | None = None                             # None: kubectl did not answer

    @property
    def service(self) -> str:
        return "k3s-agent" if self.role == "agent" else "k3s"


def script(root: str = "", airgap_name: str | None = None) -> str:
    """The one command that prints every fact."""
    r = root.rstrip("/")

    def q(p: str) -> str:
        return shlex.quote(r + p)

    parts = [
        ("version", "k3s --version"),
        ("hostname", "hostname 2>/dev/null || cat /proc/sys/kernel/hostname"),
        ("init", "if command -v systemctl >/dev/null 2>&1; then echo systemd; "
                 "elif command -v rc-service >/dev/null 2>&1; then echo openrc; else echo unknown; fi"),
        ("units", "for f in " + " ".join(q(u) for u in _UNITS) + '; do [ -e "$f" ] && echo "$f"; done; true'),
        ("processes", "ps -eo args 2>/dev/null | grep -E '^([^ ]*/)?k3s (server|agent)' | grep -v grep; true"),
        ("files", f"for f in {q(REGISTRIES)} {q(CONFIG)} {q(DROPIN_DIR)}/*.yaml {q(CA_DIR)}/*.crt; do "
                  '[ -f "$f" ] || continue; echo "== $f"; base64 < "$f" || exit 1; done'),
        ("images", f"cd {q(IMAGES)} 2>/dev/null || exit 0; for f in *; do "
                   '[ -f "$f" ] && echo "$(wc -c < "$f") $f"; done; true'),
        ("pods", "k3s kubectl get pods -n kube-system -o json 2>/dev/null"),
    ]
    if airgap_name:
        parts.append(("airgap", f"sha256sum {q(IMAGES + '/' + airgap_name)} 2>/dev/null || true"))
    return "\n".join(f"echo {_MARK} {name}; ( {cmd} ) 2>&1; echo {_END} $?" for name, cmd in parts)


def sections(text: str) -> dict[str, tuple[str, int]]:
    """Split the script's output into ``name -> (body, exit status)``."""
    out: dict[str, tuple[str, int]] = {}
    name, body = None, []
    for line in text.splitlines():
        if line.startswith(_MARK + " "):
            name, body = line[len(_MARK) + 1:].strip(), []
        elif _END + " " in line and name is not None:
            # a body without a final newline puts the end marker on its last line
            before, _, rc = line.rpartition(_END + " ")
            if before:
                body.append(before)
            rc = rc.strip()
            out[name] = ("\n".join(body), int(rc) if rc.isdigit() else 1)
            name = None
        elif name is not None:
            body.append(line)
    return out


def _files(body: str, root: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    cur, chunks = None, []

    def flush():
        if cur is not None:
            try:
                files[cur] = base64.b64decode("".join(chunks), validate=False)
            except (binascii.Error, ValueError):
                files[cur] = b""

    for line in body.splitlines():
        if line.startswith("== "):
            flush()
            path = line[3:]
            cur, chunks = (path[len(root):] if root and path.startswith(root) else path), []
        else:
            chunks.append(line.strip())
    flush()
    return files


def pods_from_json(text: str) -> tuple[Pod, ...]:
    doc = json.loads(text)
    pods = []
    for item in doc.get("items", []):
        meta, spec, status = item.get("metadata", {}), item.get("spec", {}), item.get("status", {})
        images = tuple(c.get("image", "") for c in spec.get("initContainers", []) + spec.get("containers", []))
        waiting = tuple(((cs.get("state") or {}).get("waiting") or {}).get("reason", "")
                        for cs in status.get("initContainerStatuses", []) + status.get("containerStatuses", []))
        pods.append(Pod(meta.get("namespace", ""), meta.get("name", ""), images, tuple(w for w in waiting if w)))
    return tuple(pods)


def parse(text: str, root: str = "") -> Facts:
    """Every fact, from the script's output."""
    s = sections(text)
    root = root.rstrip("/")
    vtext, vrc = s.get("version", ("", 127))
    version = None
    if vrc == 0:
        try:
            version = parse_version(vtext)
        except BadInput:
            version = None
    units = [u[len(root):] if root and u.startswith(root) else u for u in s.get("units", ("", 0))[0].split()]
    procs = s.get("processes", ("", 0))[0]
    has_server = any(u.endswith(("/k3s.service", "/k3s")) for u in units) or " server" in procs
    has_agent = any(u.endswith(("/k3s-agent.service", "/k3s-agent")) for u in units) or " agent" in procs
    role = "agent" if has_agent and not has_server else "server"
    fbody, frc = s.get("files", ("", 0))
    present = _files(fbody, root)
    files: dict[str, bytes | None] = {REGISTRIES: None, CONFIG: None}
    files.update(present)
    images = {}
    for line in s.get("images", ("", 0))[0].splitlines():
        size, _, name = line.strip().partition(" ")
        if size.isdigit() and name:
            images[name] = int(size)
    sha = None
    abody = s.get("airgap", ("", 0))[0].split()
    if abody and len(abody[0]) == 64:
        sha = abody[0]
    pbody, prc = s.get("pods", ("", 1))
    pods = None
    if prc == 0:
        try:
            pods = pods_from_json(pbody)
        except (ValueError, AttributeError):
            pods = None
    return Facts(version, vtext.strip(), s.get("hostname", ("", 0))[0].strip(),
                 (s.get("init", ("unknown", 0))[0].strip() or "unknown"), role, files, images, sha, pods)


def gather(conn, root: str = "", airgap_name: str | None = None, timeout: float = 120) -> Facts:
    """Read every fact in one round trip (the only I/O here)."""
    res = conn.run(script(root, airgap_name), timeout=timeout)
    facts = parse(res.stdout, root)
    if "files" in sections(res.stdout) and sections(res.stdout)["files"][1] != 0:
        raise ArchportError(f"{conn.name}: cannot read the k3s configuration files (are we root?)")
    return facts
