"""The plan: what deploy would change on one board, as pure data.

:func:`make` compares the board's :class:`~.facts.Facts` with the
:class:`Desired` state and returns a :class:`Plan`: file changes (each
with the bytes before and after), uploads (airgap tarballs, by checksum),
whether k3s must restart, and the refusals — the reasons this board's k3s
could not honour the plan.  Nothing here touches the board; ``apply`` does.

What a plan never contains: a write to ``server/manifests/`` (k3s rewrites
its packaged manifests at every start) or to the user's ``config.yaml``
(our settings go to a drop-in, ``config.yaml.d/50-archport.yaml``, that
k3s ≥ v1.21 merges after it; later files win for plain keys, and a key
written ``name+`` appends).  The plan checks the value k3s would end up
with: one a later file of the user's overrides is refused, naming that
file, unless ``Desired.force`` moves our drop-in after it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from ruamel.yaml.error import YAMLError

from .. import yamlsafe
from ..errors import ArchportError
from ..k3s import config as k3sconfig
from ..reference import DEFAULT_DOMAIN, BadReference
from ..reference import parse as parse_reference
from . import registries
from ..node.paths import CA_DIR, CONFIG, DROPIN, DROPIN_DIR, IMAGES, MANIFESTS, REGISTRIES
from .facts import Facts
from ..k3s.behaviour import load as behaviour

MASK = "<redacted>"
# Lines of a YAML file whose value is a credential, whoever wrote them.
# Same-line values only: "auth:" opening a mapping masks nothing, and never
# the next line's key ([ \t], not \s, which would cross the line end).
_SECRET_LINE = re.compile(r"(?im)^([ \t]*-?[ \t]*[\"']?(?:password|auth|identity_token|token|agent-token|"
                          r"registry_token|secret)[\"']?[ \t]*:[ \t]*)(?=\S)(?!#)[^\r\n]*")
DROPIN_HEADER = ("# Written by archport deploy.  k3s merges config.yaml.d/*.yaml after config.yaml;\n"
                 "# the user's config.yaml is left as it is.\n")
# k3s v1.24's default sandbox image (pkg/cli/cmds/agent.go, --pause-image).
DEFAULT_PAUSE = "rancher/mirrored-pause:3.6"


@dataclass(frozen=True, slots=True)
class AirgapFile:
    local: str
    name: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Desired:
    registry: str | None = None            # "host[:port]" the board pulls from
    scheme: str = "https"
    prefix: str = ""
    upstreams: tuple[str, ...] = ()        # more upstream registries to mirror (docker.io always)
    ca_pem: bytes | None = None
    auth: tuple[str, str] | None = None    # never printed
    pause_image: str | None = None
    system_default_registry: str | None = None
    airgap: AirgapFile | None = None
    restart_pods: bool = False
    force: bool = False                    # take precedence over a later drop-in of the user's

    def __repr__(self) -> str:             # the secret stays out of any debug dump
        return f"Desired(registry={self.registry!r}, prefix={self.prefix!r}, auth={'set' if self.auth else None})"


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str
    before: bytes | None = field(repr=False)       # the bytes may hold credentials: never in a repr
    after: bytes = field(repr=False)
    mode: int = 0o644
    why: str = ""
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def diff(self) -> str:
        """A unified diff with every credential masked."""
        return unified_diff(self.path, self.before, self.after, self.secrets)


@dataclass(frozen=True, slots=True)
class Upload:
    local: str
    path: str
    sha256: str
    size: int
    why: str


@dataclass(frozen=True, slots=True)
class Plan:
    changes: tuple[FileChange, ...] = ()
    uploads: tuple[Upload, ...] = ()
    restart: bool = False
    restart_pods: tuple[str, ...] = ()     # kube-system pods to delete after the restart
    refusals: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.changes or self.uploads)

    def to_dict(self) -> dict:
        return {
            "changes": [{"path": c.path, "mode": f"{c.mode:04o}", "why": c.why, "new": c.before is None,
                         "diff": c.diff()} for c in self.changes],
            "uploads": [{"path": u.path, "sha256": u.sha256, "size": u.size, "why": u.why} for u in self.uploads],
            "restart": self.restart, "restartPods": list(self.restart_pods),
            "refusals": list(self.refusals), "notes": list(self.notes),
        }


def mask(text: str, secrets: tuple[str, ...] = ()) -> str:
    for s in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(s, MASK)
    return _SECRET_LINE.sub(lambda m: m.group(1) + MASK, text)


def unified_diff(path: str, before: bytes | None, after: bytes, secrets: tuple[str, ...] = ()) -> str:
    a = mask(before.decode("utf-8", "replace"), secrets) if before is not None else ""
    b = mask(after.decode("utf-8", "replace"), secrets)
    lines = difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True),
                                 fromfile="/dev/null" if before is None else f"a{path}", tofile=f"b{path}")
    return "".join(x if x.endswith("\n") else x + "\n\\ No newline at end of file\n" for x in lines)


def _yaml_keys(data: bytes | None, origin: str = "k3s config") -> dict:
    if not data or not data.strip():
        return {}
    try:
        doc = yamlsafe.load(data.decode("utf-8", "replace"), origin)
    except YAMLError:
        return {}
    return doc if isinstance(doc, dict) else {}


def current_pause(facts: Facts) -> str:
    """The sandbox image k3s uses now, without archport's drop-in:
    config.yaml, then the other drop-ins in name order (later wins), else
    the default."""
    merged, _ = _effective(facts, {p: b for p, b in facts.files.items() if p not in OURS})
    value = merged.get("pause-image")
    return str(value) if value else DEFAULT_PAUSE


def _same_image(a: str, b: str) -> bool:
    try:
        return parse_reference(a).normalized() == parse_reference(b).normalized()
    except BadReference:
        return a == b


def upstreams_in_use(facts: Facts, desired: Desired) -> tuple[str, ...]:
    """docker.io, the registries the kube-system pods and the pause image name,
    and the ones the user asked for, minus the mirror itself."""
    found = [DEFAULT_DOMAIN, *desired.upstreams]
    names = [current_pause(facts)] + [i for p in (facts.pods or ()) for i in p.images]
    for name in names:
        try:
            found.append(parse_reference(name).domain)
        except BadReference:
            continue
    out: list[str] = []
    for d in found:
        if d and d != desired.registry and d not in out:
            out.append(d)
    return tuple(out)


def _ca_path(host: str) -> str:
    return f"{CA_DIR}/{re.sub(r'[^A-Za-z0-9._-]', '_', host)}-ca.crt"


def holds(feature: str, v) -> bool:
    """Whether k3s ``v`` has ``feature`` (k3s/behaviour.toml, each with its source)."""
    return bool(behaviour().supports(feature, v))


def _refuse(feature: str, facts: Facts, needs: str) -> str:
    f = behaviour().feature(feature)
    return (f"k3s {facts.version} is older than {behaviour().first(feature)}, the first where {f.what}; "
            f"{needs} needs that (source: {f.source})")


@dataclass
class _Draft:
    """A plan being drawn up, part by part, in the order it is shown."""

    changes: list[FileChange] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def make(facts: Facts, desired: Desired) -> Plan:
    """Compare the board with the desired state; pure."""
    if facts.version is None:
        detail = facts.version_text.splitlines()[0] if facts.version_text else "no output"
        return Plan(refusals=(f"cannot read the k3s version (k3s --version: {detail})",))
    d = _Draft()
    if desired.registry:
        _mirror(d, facts, desired)
    _settings(d, facts, desired)
    restart = bool(d.changes)
    if desired.airgap and _airgap(d, facts, desired.airgap):
        restart = True
    if restart and facts.init not in ("systemd", "openrc"):
        d.refusals.append("no init system found to restart k3s with (systemctl or rc-service)")
    for c in d.changes:
        if c.path.startswith(MANIFESTS + "/") or c.path == CONFIG:
            raise ArchportError(f"internal: a plan may not write {c.path}")
    pods: tuple[str, ...] = ()
    if desired.restart_pods and facts.pods:
        pods = tuple(p.name for p in facts.pods if p.pull_failing)
    return Plan(tuple(d.changes), tuple(d.uploads), restart and not d.refusals, pods, tuple(d.refusals),
                tuple(d.notes))


def _mirror(d: _Draft, facts: Facts, desired: Desired) -> None:
    """registries.yaml: the upstreams in use pulled through ``desired.registry``
    (and the CA that signs its certificate)."""
    v = facts.version
    ca_file = None
    if desired.ca_pem:
        ca_file = _ca_path(desired.registry)
        if facts.files.get(ca_file) != desired.ca_pem:
            d.changes.append(FileChange(ca_file, facts.files.get(ca_file), desired.ca_pem, 0o644,
                                        f"the CA that signs {desired.registry}'s certificate"))
    ups = upstreams_in_use(facts, desired)
    want = registries.Mirror(f"{desired.scheme}://{desired.registry}", desired.registry, ups,
                             desired.prefix, ca_file, desired.auth, holds("registry-wildcard", v))
    merged = registries.merge(facts.files.get(REGISTRIES), want)
    d.refusals.extend(merged.refusals)
    after = merged.after
    if after is not None:
        what = ", ".join(ups)
        d.changes.append(FileChange(REGISTRIES, facts.files.get(REGISTRIES), after, 0o600,
                                    f"pull {what} through {desired.registry}"
                                    + (f" under {desired.prefix}/" if desired.prefix else ""),
                                    desired.auth[1:] if desired.auth else ()))
    if desired.prefix and not holds("registry-rewrite", v):
        d.refusals.append(_refuse("registry-rewrite", facts, f"the prefix {desired.prefix}/ (a rewrite)"))
    d.notes.append(f"k3s {v} renders registries.yaml into containerd's "
                   + ("certs.d/<host>/hosts.toml" if holds("registry-hosts-toml", v) else "config.toml"))


# The names archport's drop-in may have: the usual one, and (``force``) one
# that sorts after every drop-in of the user's, k3s reading them in name order.
FORCED = tuple(f"{DROPIN_DIR}/{n}" for n in ("99-archport.yaml", "zz-archport.yaml", "~~-archport.yaml"))
OURS = (DROPIN, *FORCED)


def _dropins(facts: Facts) -> list[str]:
    """The drop-ins k3s reads, in its order (byte order of the names)."""
    return sorted((p for p in facts.files if p.startswith(DROPIN_DIR + "/") and p.endswith(".yaml")
                   and facts.files.get(p) is not None), key=lambda p: p.encode())


def _effective(facts: Facts, files: dict[str, bytes | None]) -> tuple[dict, dict[str, str]]:
    """config.yaml then the drop-ins, merged as k3s does, and which file set
    each key last."""
    order = [CONFIG] + sorted((p for p in files if p.startswith(DROPIN_DIR + "/") and p.endswith(".yaml")
                               and files[p] is not None), key=lambda p: p.encode())
    docs = [_yaml_keys(files.get(p), p) for p in order]
    last: dict[str, str] = {}
    for path, doc in zip(order, docs):
        for k in doc:
            last[str(k).rstrip("+")] = path
    return k3sconfig.merge(docs[0], docs[1:]), last


def _same(key: str, a, b) -> bool:
    if a is None or b is None:
        return a is b
    return _same_image(str(a), str(b)) if key == "pause-image" else str(a).strip().strip("/") == str(b)


def _settings(d: _Draft, facts: Facts, desired: Desired) -> None:
    """The drop-in with k3s settings: the pause image and
    system-default-registry, unless k3s already uses those; refused when a
    later file of the user's would override them."""
    wanted: dict[str, str] = {}
    if desired.pause_image:
        wanted["pause-image"] = desired.pause_image
    if desired.system_default_registry:
        if facts.role == "agent":
            # k3s reads system-default-registry on servers only; an agent
            # warns and ignores it (it takes the images' names from the server).
            d.notes.append("system-default-registry is a server setting (k3s agents ignore it): "
                           "not written on this agent")
        else:
            wanted["system-default-registry"] = desired.system_default_registry
    if not wanted:
        return
    theirs = {p: b for p, b in facts.files.items() if p not in OURS}
    now, _ = _effective(facts, theirs)
    if "pause-image" not in now:
        now["pause-image"] = DEFAULT_PAUSE
    keys = {k: v for k, v in wanted.items() if not _same(k, now.get(k), v)}
    if not keys:
        return
    path = next((p for p in FORCED if facts.files.get(p) is not None), DROPIN)
    body = (DROPIN_HEADER + "".join(f'{k}: "{val}"\n' for k, val in keys.items())).encode()
    overridden = _overridden(facts, theirs, path, body, keys)
    if overridden and desired.force:
        later = [p for p in FORCED if all(p.encode() > q.encode() for q in _dropins(facts) if q not in OURS)]
        if not later:
            d.refusals.append(f"--force: no drop-in name sorts after every one in {DROPIN_DIR}; "
                              + overridden[0])
            return
        path = later[0]
        overridden = _overridden(facts, theirs, path, body, keys)
    if overridden:
        d.refusals.extend(overridden)
        return
    existing = facts.files.get(path)
    if existing != body:
        d.changes.append(FileChange(path, existing, body, 0o644, "k3s settings: " + ", ".join(keys)))
    for rule_id in ("config-file", "config-dropins"):
        if not holds(rule_id, facts.version):
            d.refusals.append(_refuse(rule_id, facts, "the drop-in " + path))
            break


def _overridden(facts: Facts, theirs: dict, path: str, body: bytes, keys: dict[str, str]) -> list[str]:
    """The keys that would not take effect with ``body`` at ``path``, each
    with the file that overrides it and the ways out."""
    merged, last = _effective(facts, {**theirs, path: body})
    out = []
    for k, v in keys.items():
        if _same(k, merged.get(k), v):
            continue
        by = last.get(k, CONFIG)
        out.append(f"{by} sets {k}: {merged.get(k)!r}, and k3s reads it after {path} (config.yaml, then "
                   f"config.yaml.d/*.yaml in name order: the last value wins), so archport's {k} {v!r} "
                   f"would not take effect. Pass --force to write it to a drop-in k3s reads last, "
                   f"or edit {by}")
    return out


def _airgap(d: _Draft, facts: Facts, a: AirgapFile) -> bool:
    """The tarball for agent/images/, unless the board has it; whether k3s
    must restart to import it."""
    if facts.airgap_sha256 == a.sha256:
        return False
    d.uploads.append(Upload(a.local, f"{IMAGES}/{a.name}", a.sha256, a.size,
                            "images k3s imports from agent/images/"))
    if holds("images-live-import", facts.version):
        d.notes.append(f"k3s {facts.version} imports {a.name} while running: no restart for it")
        return False
    return True
