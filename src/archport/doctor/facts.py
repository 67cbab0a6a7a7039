"""The facts doctor reads: one shell command and one pure parser each.

The same :data:`FACTS` table serves three uses: a live run executes each
command through a connector; ``archport collect`` stores each command's raw
output under the fact's ``file`` name in a dump; reading a dump back answers
each command from that file.  Paths are written with a ``{root}`` prefix so a
test (or a chroot) can point them at a directory instead of ``/``.

Commands are POSIX sh, bounded (``tail -n``), and never fail the whole run:
a fact whose command is missing or fails is recorded as missing and the
report lists it.
"""

from __future__ import annotations

import gc
import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable

from ruamel.yaml import YAML, YAMLError

from . import kube


@dataclass(frozen=True, slots=True)
class Fact:
    name: str
    file: str
    command: str          # template: {root}, {lines}

    def render(self, root: str = "", lines: int = 2000) -> str:
        return self.command.format(root=shlex.quote(root.rstrip("/")) if root else "", lines=int(lines))


K3S = "/var/lib/rancher/k3s"
# Separates the files of a multi-file fact; a YAML comment, so each part stays valid YAML.
FILE_MARK = "#@archport-file"
# awk: print each YAML document of a file unless it is a Secret.
_NO_SECRETS = ("'function out(){{ if (d !~ /(^|\\n)kind:[ \\t]*[\"]?Secret[\"]?[ \\t]*(\\n|$)/ && "
               "d !~ /\"kind\"[ \\t]*:[ \\t]*\"Secret\"/) printf \"%s\", d; d=\"\" }} "
               "/^---/{{ out() }} {{ d = d $0 \"\\n\" }} END{{ out() }}'")
FACTS: tuple[Fact, ...] = (
    Fact("cluster", "kubectl.json", "k3s kubectl get pods,events,nodes -A -o json"),
    Fact("sandboxes", "crictl-pods.json", "k3s crictl pods -o json"),
    Fact("images", "crictl-images.json", "k3s crictl images -o json"),
    # The systemd unit logs to the journal; the OpenRC service k3s's installer
    # writes logs to /var/log/k3s.log instead.
    Fact("journal", "journal.log",
         "if [ -f {root}/var/log/k3s.log ]; then tail -n {lines} {root}/var/log/k3s.log; "
         "else journalctl -u k3s -u k3s-agent --no-pager -q -n {lines}; fi"),
    Fact("containerd_log", "containerd.log", "tail -n {lines} {root}" + K3S + "/agent/containerd/containerd.log"),
    Fact("config", "config.yaml", "cat {root}/etc/rancher/k3s/config.yaml"),
    Fact("registries", "registries.yaml", "cat {root}/etc/rancher/k3s/registries.yaml"),
    # The config drop-ins k3s merges after config.yaml, and the manifests it
    # applies (what audit needs); Secret documents are left out of the latter.
    Fact("config_d", "config-d.yaml",
         "for f in {root}/etc/rancher/k3s/config.yaml.d/*; do case \"$f\" in *.yaml|*.yml) "
         "printf '" + FILE_MARK + " %s\\n' \"${{f##*/}}\"; cat \"$f\"; echo;; esac; done; true"),
    Fact("manifests", "manifests.yaml",
         "cd {root}" + K3S + "/server/manifests && find . -type f \\( -name '*.yaml' -o -name '*.yml' "
         "-o -name '*.json' \\) ! -path '*/.*' | LC_ALL=C sort | while read -r f; do "
         "[ -e \"$f.skip\" ] && continue; printf '" + FILE_MARK + " %s\\n' \"${{f#./}}\"; "
         "awk " + _NO_SECRETS + " \"$f\"; echo; done | head -c 8388608"),
    Fact("manifests_dir", "manifests.txt", "ls -1A {root}" + K3S + "/server/manifests"),
    Fact("images_dir", "images-dir.txt", "ls -1A {root}" + K3S + "/agent/images"),
    Fact("version", "k3s-version.txt", "k3s --version"),
    Fact("uname", "uname.txt", "uname -m"),
    Fact("mmu", "mmu.txt", "grep -m1 '^mmu' {root}/proc/cpuinfo || echo 'mmu : none'"),
    Fact("cgroup", "cgroup.txt",
         "echo \"controllers: $(cat {root}/sys/fs/cgroup/cgroup.controllers 2>/dev/null)\"; "
         "if ls {root}/sys/fs/cgroup/*/cpu.weight >/dev/null 2>&1; then echo 'cpu.weight: present'; "
         "else echo 'cpu.weight: missing'; fi"),
    Fact("vxlan", "vxlan.txt",
         "if grep -q '^vxlan ' {root}/proc/modules 2>/dev/null || [ -d {root}/sys/module/vxlan ]; "
         "then echo 'vxlan: loaded'; elif modinfo vxlan >/dev/null 2>&1; then echo 'vxlan: available'; "
         "else echo 'vxlan: missing'; fi"),
    Fact("iptables", "iptables.txt", "iptables --version"),
    Fact("ip_forward", "ip_forward.txt", "cat {root}/proc/sys/net/ipv4/ip_forward"),
    Fact("clock", "clock.txt", "date -u +%Y-%m-%dT%H:%M:%SZ"),
)
BY_NAME = {f.name: f for f in FACTS}
BY_FILE = {f.file: f for f in FACTS}
# Facts whose empty output is a valid answer (an empty directory, a quiet log).
EMPTY_OK = {"manifests_dir", "images_dir", "journal", "containerd_log", "config_d", "manifests"}


@dataclass(frozen=True, slots=True)
class Raw:
    """One fact's output as collected (text, exit status)."""
    text: str
    rc: int = 0

    @property
    def ok(self) -> bool:
        return self.rc == 0 and bool(self.text.strip())


@dataclass(frozen=True, slots=True)
class Facts:
    cluster: kube.Cluster = field(default_factory=kube.Cluster)
    sandboxes: tuple[kube.Sandbox, ...] = ()
    images: tuple[kube.Image, ...] = ()
    journal: tuple[str, ...] = ()
    containerd_log: tuple[str, ...] = ()
    config: dict = field(default_factory=dict)
    registries: dict = field(default_factory=dict)
    config_d: tuple[dict, ...] = ()                   # config.yaml.d drop-ins, in name order
    manifests: tuple[tuple[str, str], ...] = ()       # (file, text) under server/manifests
    manifests_dir: tuple[str, ...] = ()
    images_dir: tuple[str, ...] = ()
    k3s_version: str = ""
    go_version: str = ""
    arch: str = ""
    mmu: str = ""
    cgroup_controllers: tuple[str, ...] = ()
    cpu_weight: bool | None = None
    vxlan: str = ""
    iptables_mode: str = ""
    ip_forward: str = ""
    clock: str = ""
    collected_at: str = ""
    missing: tuple[str, ...] = ()
    source: str = ""


def _json(text: str) -> dict:
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return doc


def _yaml(text: str) -> dict:
    doc = YAML(typ="safe").load(text)
    return doc if isinstance(doc, dict) else {}


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line for line in text.splitlines() if line.strip())


def _kv(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            out[k.strip()] = v.strip()
    return out


def split_files(text: str) -> tuple[tuple[str, str], ...]:
    """The ``(name, text)`` parts of a multi-file fact (:data:`FILE_MARK` lines)."""
    out: list[tuple[str, list[str]]] = []
    for line in text.splitlines(keepends=True):
        if line.startswith(FILE_MARK + " "):
            out.append((line[len(FILE_MARK) + 1:].strip(), []))
        elif out:
            out[-1][1].append(line)
    return tuple((name, "".join(lines)) for name, lines in out)


def _version(text: str) -> dict[str, str]:
    # "k3s version v1.24.2+k3s1 (f3b4a5f3)\ngo version go1.18.1"
    m = re.search(r"k3s version (\S+)", text)
    g = re.search(r"go version (go[\d.]+)", text)
    return {"k3s_version": m.group(1) if m else "", "go_version": g.group(1) if g else ""}


def _iptables(text: str) -> str:
    m = re.search(r"\((legacy|nf_tables)\)", text)
    return m.group(1) if m else ("legacy" if text.strip().startswith("iptables v") else "")


PARSERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "cluster": lambda t: {"cluster": kube.parse_cluster(_json(t))},
    "sandboxes": lambda t: {"sandboxes": kube.parse_sandboxes(_json(t))},
    "images": lambda t: {"images": kube.parse_images(_json(t))},
    "journal": lambda t: {"journal": _lines(t)},
    "containerd_log": lambda t: {"containerd_log": _lines(t)},
    "config": lambda t: {"config": _yaml(t)},
    "registries": lambda t: {"registries": _yaml(t)},
    "config_d": lambda t: {"config_d": tuple(_yaml(text) for _, text in split_files(t))},
    "manifests": lambda t: {"manifests": split_files(t)},
    "manifests_dir": lambda t: {"manifests_dir": _lines(t)},
    "images_dir": lambda t: {"images_dir": _lines(t)},
    "version": _version,
    "uname": lambda t: {"arch": t.strip()},
    "mmu": lambda t: {"mmu": _kv(t).get("mmu", "").lower().replace("none", "")},
    "cgroup": lambda t: {"cgroup_controllers": tuple(_kv(t).get("controllers", "").split()),
                         "cpu_weight": {"present": True, "missing": False}.get(_kv(t).get("cpu.weight", ""))},
    "vxlan": lambda t: {"vxlan": _kv(t).get("vxlan", "")},
    "iptables": lambda t: {"iptables_mode": _iptables(t)},
    "ip_forward": lambda t: {"ip_forward": t.strip()},
    "clock": lambda t: {"clock": t.strip()},
}


def parse(raw: dict[str, Raw], source: str = "", collected_at: str = "") -> Facts:
    """Parse every collected fact; unreadable ones are listed in ``missing``."""
    # Parsing a large kubectl document allocates millions of small objects and
    # nothing cyclic; the cyclic GC would rescan them over and over (≈ 40% of
    # the time on a 5,000-pod dump), so it is paused for the parse.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse(raw, source, collected_at)
    finally:
        if enabled:
            gc.enable()


def _parse(raw: dict[str, Raw], source: str, collected_at: str) -> Facts:
    values: dict[str, Any] = {}
    missing = []
    for fact in FACTS:
        r = raw.get(fact.name)
        if r is None or r.rc != 0 or (not r.text.strip() and fact.name not in EMPTY_OK):
            missing.append(fact.name)
            continue
        try:
            values.update(PARSERS[fact.name](r.text))
        except (ValueError, YAMLError, TypeError, AttributeError):
            missing.append(f"{fact.name} (unparseable)")
    return Facts(**values, missing=tuple(missing), source=source, collected_at=collected_at)
