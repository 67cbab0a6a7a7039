"""The board as deploy sees it, read through :mod:`archport.node.facts`.

Deploy needs the k3s version, server or agent, the init system, the exact
bytes of the files it may rewrite (``registries.yaml``, ``config.yaml``, the
drop-ins, the CA certificates it installed: they travel in base64, so a
backup and a diff see the exact bytes), the archives under ``agent/images``
and the kube-system pods.  All of them are facts of the node's one table,
read in one SSH round trip; this module only names them and keeps the values
deploy plans from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ArchportError, BadInput
from ..k3s.behaviour import K3sVersion, version_of
from ..node import collect
from ..node import facts as F
from ..node.kube import Pod
from ..node.paths import CONFIG, REGISTRIES
from ..remote import Connector
from .kernel import Kernel

# The facts deploy reads ("airgap" only when an archive is to be uploaded).
NAMES = ("version", "hostname", "init", "service", "files", "image_files", "system_pods", "kernel")


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
    kernel: Kernel | None = None                                    # None: not read (see deploy.kernel)

    @property
    def service(self) -> str:
        return "k3s-agent" if self.role == "agent" else "k3s"


def from_raw(raw: dict[str, F.Raw]) -> Facts:
    """Deploy's view of the facts read (pure)."""
    got, _ = F.values(raw, tuple(n for n in (*NAMES, "airgap") if n in raw))
    v = raw.get("version", F.Raw("", 127))
    version = None
    if v.rc == 0:
        try:
            version = version_of(v.text)
        except BadInput:
            version = None
    files: dict[str, bytes | None] = {REGISTRIES: None, CONFIG: None}
    files.update(got.get("files", {}))
    return Facts(version, v.text.strip(), got.get("hostname", ""), got.get("init", "unknown"),
                 got.get("role", "server"), files, got.get("image_files", {}), got.get("airgap_sha256"),
                 got.get("system_pods"),
                 Kernel.from_values(got, raw["kernel"].rc == 0) if "kernel" in raw else None)


def gather(conn: Connector, root: str = "", airgap_name: str | None = None, timeout: float = 120) -> Facts:
    """Read every fact deploy needs in one round trip."""
    names = NAMES + (("airgap",) if airgap_name else ())
    raw = collect.gather(conn, root, names=names, archive=airgap_name or "", timeout=timeout)
    if "files" in raw and raw["files"].rc != 0:
        raise ArchportError(f"{conn.name}: cannot read the k3s configuration files (are we root?)")
    return from_raw(raw)
