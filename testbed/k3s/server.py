"""The stand-in's start/restart: the thin I/O around the pure modules.

One :func:`start` does, in k3s v1.24.2's order (pkg/cli/server/server.go →
pkg/server/server.go StartServer → stageFiles / pkg/agent/run.go):

1. read config.yaml + config.yaml.d (pkg/configfilearg);
2. read registries.yaml and render containerd's config.toml
   (pkg/agent/containerd/config_linux.go setupContainerdConfig), refusing
   ``rewrite`` (see :mod:`.registries`);
3. restart the runtime (containerd, then the kubelet) so both read it;
4. import agent/images (pkg/agent/containerd/containerd.go preloadImages);
5. stage the packaged manifests (pkg/deploy/stage.go) and run one pass of
   the deploy controller (pkg/deploy/controller.go): apply, skip, delete.

Every step logs one line in logrus's text format (``time=… level=…
msg=…``), which is what k3s writes and what ``journalctl -u k3s`` shows.
The node-side actions (restarting containerd and the kubelet) are the bed's
(:mod:`testbed.node`); they are passed in as callables so this module runs
the same against a plain directory in tests.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ruamel.yaml import YAML

from . import airgap, config, manifests, registries
from .version import VERSION


class StandinError(RuntimeError):
    """The stand-in cannot start (one line; logged as level=fatal)."""


@dataclass(frozen=True)
class Board:
    """Where the stand-in finds the board's files and tools."""

    etc: Path                       # what the board calls /etc/rancher/k3s
    var: Path                       # what the board calls /var/lib/rancher/k3s
    packaged: Path                  # the v1.24.2 packaged manifests (shared/)
    log: Path                       # the stand-in's own log (logrus lines)
    state: Path                     # a small JSON the systemctl shim reads
    kubectl: tuple[str, ...] = ("kubectl",)
    ctr: tuple[str, ...] = ("ctr",)
    node: registries.Node = field(default_factory=registries.Node)
    restart_runtime: Callable[[], None] = lambda: None
    containerd_log: Path | None = None    # the runtime's real log, linked where k3s keeps it
    # Starts helm-controller if it can; returns None when running, else the reason it is not.
    helm_controller: Callable[[], str | None] = lambda: "not part of this board"

    @property
    def containerd_config(self) -> Path:
        return self.var / "agent" / "etc" / "containerd" / "config.toml"

    @property
    def manifests_dir(self) -> Path:
        return self.var / "server" / "manifests"

    @property
    def images_dir(self) -> Path:
        return self.var / "agent" / "images"


class Log:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, level: str, msg: str) -> None:
        ts = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with open(self.path, "a") as f:
            f.write(f"time=\"{ts}\" level={level} msg={json.dumps(msg, ensure_ascii=False)}\n")


def _run(argv: list[str], log: Log, **kw) -> subprocess.CompletedProcess:
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=kw.pop("timeout", 600), **kw)
    if cp.returncode != 0:
        log("error", f"{' '.join(argv[:4])} …: {(cp.stderr or cp.stdout).strip().splitlines()[-1:]}")
    return cp


def read_settings(b: Board, log: Log) -> config.Settings:
    base = b.etc / "config.yaml"
    files = []
    if base.is_file():
        files.append((str(base), base.read_text()))
    d = b.etc / "config.yaml.d"
    if d.is_dir():
        for name in config.dropins([p.name for p in d.iterdir() if p.is_file()]):
            files.append((str(d / name), (d / name).read_text()))
    for name, _ in files:
        log("info", f"Loading config file [{name}]")   # as pkg/configfilearg logs it
    try:
        s = config.settings(config.merge(files))
    except config.ConfigError as e:
        raise StandinError(str(e)) from None
    if s.unhandled:
        log("warning", "archport stand-in: config keys without effect on this bed: " + ", ".join(s.unhandled))
    return s


def write_containerd_config(b: Board, s: config.Settings, log: Log) -> bool:
    """Render config.toml; True when its text changed (containerd must restart to read it)."""
    path = b.etc / "registries.yaml"
    try:
        reg = registries.parse(path.read_text() if path.is_file() else "")
        registries.refuse_rewrite(reg)
    except registries.RegistriesError as e:
        raise StandinError(str(e)) from None
    if (b.containerd_config.parent / "config.toml.tmpl").exists():
        raise StandinError("config.toml.tmpl: a Go template; this k3s stand-in renders k3s's built-in template only")
    text = registries.render(b.node, reg, s.pause_image)
    if path.is_file():
        log("info", f"Using private registry config file at {path}")   # pkg/agent/config logs this
    old = b.containerd_config.read_text() if b.containerd_config.is_file() else None
    if old == text:
        return False
    b.containerd_config.parent.mkdir(parents=True, exist_ok=True)
    tmp = b.containerd_config.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(b.containerd_config)
    log("info", f"Wrote containerd config {b.containerd_config} (sandbox_image {s.pause_image})")
    return True


def import_images(b: Board, log: Log) -> list[str]:
    """Import agent/images; returns the names imported (one per file)."""
    if not b.images_dir.is_dir():
        return []
    entries, skipped = airgap.select([p.name for p in b.images_dir.iterdir() if p.is_file()])
    for name in skipped:
        log("info", f"Skipping {b.images_dir / name}: not an image archive")
    done = []
    for e in entries:
        path = b.images_dir / e.name
        if e.kind == "list":
            log("warning", f"archport stand-in: image list {path} not pre-pulled (the bed pulls on demand)")
            continue
        started = time.monotonic()
        argv = [*b.ctr, "images", "import", "--all-platforms", "-"]
        with open(path, "rb") as src:
            if e.kind == "tar":
                cp = subprocess.run(argv, stdin=src, capture_output=True, text=True, timeout=1800)
            else:
                dec = subprocess.Popen(list(airgap.DECOMPRESS[e.kind]), stdin=src, stdout=subprocess.PIPE)
                cp = subprocess.run(argv, stdin=dec.stdout, capture_output=True, text=True, timeout=1800)
                dec.stdout.close()
                if dec.wait() != 0:
                    log("error", f"Unable to import {path}: {e.kind} decompression failed")
                    continue
        if cp.returncode != 0:
            log("error", f"Unable to import {path}: {(cp.stderr or cp.stdout).strip()}")
            continue
        log("info", f"Imported images from {path} in {time.monotonic() - started:.3f}s")
        done.append(e.name)
    return done


def packaged(b: Board) -> dict[str, str]:
    return {str(p.relative_to(b.packaged)): manifests.templatize(str(p.relative_to(b.packaged)), p.read_text())
            for p in sorted(b.packaged.rglob("*.yaml"))}


def stage(b: Board, s: config.Settings, log: Log) -> None:
    files = manifests.stage(packaged(b), manifests.template_vars(s), s.disable)
    for name, text in files.items():
        p = b.manifests_dir / name
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        log("info", f"Writing manifest: {p}")
        p.write_text(text)
        p.chmod(0o600)


def deploy(b: Board, s: config.Settings, log: Log, seen: dict[str, float] | None = None) -> manifests.Plan:
    """One pass of the deploy controller.  ``seen`` (path -> mtime) makes it
    a later pass: unchanged files are not re-applied (controller.go modTime)."""
    files = [str(p.relative_to(b.manifests_dir)) for p in b.manifests_dir.rglob("*") if p.is_file()] \
        if b.manifests_dir.is_dir() else []
    plan = manifests.plan(files, s.disable)
    helm: str | None = ""       # "" = not asked yet; None = running; else why not
    for rel in plan.delete:
        p = b.manifests_dir / rel
        cp = _run([*b.kubectl, "delete", "--ignore-not-found", "--wait=false", "-f", str(p)], log)
        if cp.returncode == 0:
            p.unlink()
            log("info", f"Deleted disabled manifest {p} and its objects (addon {manifests.addon_name(rel)})")
    for rel in plan.skipped:
        log("info", f"Skipping {b.manifests_dir / rel}: {Path(rel).name}.skip exists")
    for rel in plan.apply:
        p = b.manifests_dir / rel
        mtime = p.stat().st_mtime
        if seen is not None and seen.get(rel) == mtime:
            continue
        docs = manifests.split_documents(p.read_text())
        kept = []
        for d in docs:
            obj = YAML(typ="safe").load(d) or {}
            if isinstance(obj, dict) and obj.get("kind") == "HelmChart":
                if helm == "":
                    helm = b.helm_controller()
                md = obj.get("metadata") or {}
                if helm is not None:
                    log("warning", f"archport stand-in: HelmChart {md.get('namespace', 'kube-system')}/"
                                   f"{md.get('name')} from {p} not applied: helm-controller is not running ({helm})")
                    continue
                if s.system_default_registry:
                    from .helm import job_image
                    obj.setdefault("spec", {})["jobImage"] = job_image(s.system_default_registry)
                    d = json.dumps(obj)
            kept.append(d)
        if not kept:
            continue
        cp = _run([*b.kubectl, "apply", "-f", "-"], log, input="---\n".join(kept))
        if cp.returncode == 0:
            log("info", f"Applied {p} (addon kube-system/{manifests.addon_name(rel)})")
            if seen is not None:
                seen[rel] = mtime
    return plan


def node_hosts(b: Board, log: Log) -> None:
    """k3s pkg/node/controller.go (updateCoreDNSConfigMap): keep the coredns
    ConfigMap's ``NodeHosts`` key at one ``<InternalIP> <node name>`` line per
    node; the packaged coredns Deployment mounts that key."""
    cm = subprocess.run([*b.kubectl, "-n", "kube-system", "get", "configmap", "coredns", "-o", "json"],
                        capture_output=True, text=True, timeout=60)
    nodes = subprocess.run([*b.kubectl, "get", "nodes", "-o", "json"], capture_output=True, text=True, timeout=60)
    try:
        cm_doc, node_list = json.loads(cm.stdout), json.loads(nodes.stdout).get("items", [])
    except ValueError:
        return
    if cm.returncode != 0 or nodes.returncode != 0:
        return
    lines = []
    for n in node_list:
        ip = next((a["address"] for a in n.get("status", {}).get("addresses", []) if a.get("type") == "InternalIP"),
                  "")
        if ip:
            lines.append(f"{ip} {n['metadata']['name']}")
    want = "\n".join(sorted(lines)) + "\n" if lines else ""
    if not want or (cm_doc.get("data") or {}).get("NodeHosts") == want:
        return
    patch = json.dumps({"data": {"NodeHosts": want}})
    if _run([*b.kubectl, "-n", "kube-system", "patch", "configmap", "coredns", "--type", "merge", "-p", patch],
            log).returncode == 0:
        log("info", "Updated coredns node hosts entries")


def watch(b: Board, s: config.Settings, interval: float = 15.0) -> None:
    """The deploy controller's loop (controller.go start: every 15 s)."""
    log = Log(b.log)
    seen: dict[str, float] = {}
    while True:
        time.sleep(interval)
        deploy(b, s, log, seen)
        node_hosts(b, log)


def save_state(b: Board, **fields) -> None:
    b.state.parent.mkdir(parents=True, exist_ok=True)
    b.state.write_text(json.dumps({"version": VERSION, **fields}))


def start(b: Board, force_restart: bool = False) -> dict:
    """One k3s start.  Raises :class:`StandinError` (also logged) when k3s would refuse."""
    log = Log(b.log)
    log("info", f"Starting k3s {VERSION} (archport test-bed stand-in)")
    save_state(b, active="activating", since=time.time())
    try:
        s = read_settings(b, log)
        log("info", "Running k3s server " + " ".join(s.flags))
        changed = write_containerd_config(b, s, log)
        if b.containerd_log is not None:
            link = b.var / "agent" / "containerd" / "containerd.log"
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(b.containerd_log)
        # k3s restarts its embedded containerd and kubelet on every start;
        # the bed's run on: they are restarted when the config they read changed.
        if changed or force_restart:
            log("info", "Restarting containerd and the kubelet to read the new configuration")
            b.restart_runtime()
        imported = import_images(b, log)
        stage(b, s, log)
        plan = deploy(b, s, log)
        node_hosts(b, log)
    except StandinError as e:
        log("fatal", str(e))
        save_state(b, active="failed", since=time.time(), error=str(e))
        raise
    save_state(b, active="active", since=time.time())
    return {"settings": s, "imported": imported, "plan": plan}
