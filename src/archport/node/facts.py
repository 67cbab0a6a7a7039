"""The one table of facts about a k3s node: a shell command and a pure parser each.

A fact's command is POSIX sh, bounded (``tail -n``, ``head -c``), and never
fails the whole run: a fact whose command is missing or fails is recorded as
missing and the reader says so.  Paths are written with a ``{root}`` prefix so
a test (or a chroot, or a mounted board image) can point them at a directory
instead of ``/``; the commands themselves are the board's.  A parser takes the
command's output and returns named values; :class:`Facts` holds those of the
facts a dump carries.

How the commands reach the board (live one at a time, many in one SSH round
trip, or answered from a dump) is :mod:`.collect`'s business.  A fact with a
``file`` is written into every ``archport collect`` dump under that name; a
fact without one is read live only: its output is base64 (``files``, which
redaction could not see into), it needs a parameter (``airgap``), it reads
every archive on the board (``archives``, minutes on a slow one), or only
deploy plans from it (``hostname``, ``init``, ``service``, ``image_files``,
``system_pods``).

The board's hardware is two facts: ``cpu`` (``/proc/cpuinfo`` and the
hwcaps of the auxiliary vector, parsed by :mod:`.cpu`) and ``kernel``
(``uname -r`` and the running kernel's configuration, checked against what
k3s needs by :mod:`.kernel`).  Each prints its parts in one answer, so a dump
holds one file per fact and a live board one section.
"""

from __future__ import annotations

import base64
import binascii
import gc
import json
import re
import shlex
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from ruamel.yaml import YAMLError

from ..errors import BadInput

from .. import yamlsafe
from . import archives, kube
from . import cpu as C
from . import kernel as K
from . import paths as P

Parser = Callable[[str], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Fact:
    name: str
    file: str             # its file in a collect dump; "" = read live only
    command: str          # template: {root}, {lines}, {archive}
    parse: Parser
    empty_ok: bool = False    # empty output is an answer (an empty directory, a quiet log)
    errors: bool = False      # its stderr is part of the answer (why k3s --version failed)

    def render(self, root: str = "", lines: int = 2000, archive: str = "") -> str:
        return self.command.format(root=shlex.quote(root.rstrip("/")) if root else "", lines=int(lines),
                                   archive=shlex.quote(archive) if archive else "''")


@dataclass(frozen=True, slots=True)
class Raw:
    """One fact's output as collected (text, exit status)."""
    text: str
    rc: int = 0

    @property
    def ok(self) -> bool:
        return self.rc == 0 and bool(self.text.strip())


# Separates the files of a multi-file fact; a YAML comment, so each part stays valid YAML.
FILE_MARK = "#@archport-file"
# awk: print each YAML document of a file unless it is a Secret.
_NO_SECRETS = ("'function out(){{ if (d !~ /(^|\\n)kind:[ \\t]*[\"]?Secret[\"]?[ \\t]*(\\n|$)/ && "
               "d !~ /\"kind\"[ \\t]*:[ \\t]*\"Secret\"/) printf \"%s\", d; d=\"\" }} "
               "/^---/{{ out() }} {{ d = d $0 \"\\n\" }} END{{ out() }}'")


def _json(text: str) -> dict:
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return doc


def _yaml(text: str) -> dict:
    doc = yamlsafe.load(text, "YAML file")
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


def _role(text: str) -> dict[str, str]:
    """Server or agent, from the service definitions present and the k3s process running."""
    units = [line[5:] for line in text.splitlines() if line.startswith("unit ")]
    procs = "\n".join(line[8:] for line in text.splitlines() if line.startswith("process "))
    has_server = any(u.endswith(("/k3s.service", "/k3s")) for u in units) or " server" in procs
    has_agent = any(u.endswith(("/k3s-agent.service", "/k3s-agent")) for u in units) or " agent" in procs
    return {"role": "agent" if has_agent and not has_server else "server"}


def _base64_files(text: str) -> dict[str, Any]:
    """``== PATH`` lines, each followed by the file's bytes in base64."""
    files: dict[str, bytes] = {}
    cur, chunks = None, []

    def flush():
        if cur is not None:
            try:
                files[cur] = base64.b64decode("".join(chunks), validate=False)
            except (binascii.Error, ValueError):
                files[cur] = b""

    for line in text.splitlines():
        if line.startswith("== "):
            flush()
            cur, chunks = line[3:], []
        else:
            chunks.append(line.strip())
    flush()
    return {"files": files}


def _sizes(text: str) -> dict[str, Any]:
    sizes = {}
    for line in text.splitlines():
        size, _, name = line.strip().partition(" ")
        if size.isdigit() and name:
            sizes[name] = int(size)
    return {"image_files": sizes}


def _sha256(text: str) -> dict[str, Any]:
    words = text.split()
    return {"airgap_sha256": words[0] if words and len(words[0]) == 64 else None}


# The auxiliary vector as ``od`` prints it (any libc), else as glibc's
# loader prints it; under --root only the root's own files answer.
AUXV_MARK = FILE_MARK + " auxv"
CONFIG_LIMIT = 4 * 1024 * 1024       # a distribution kernel's .config is ~250 KiB


def _cpu(text: str) -> dict[str, Any]:
    """``{"cpu": Cpu}``; ``None`` on a CPU that is not RISC-V (its cpuinfo has no ``isa`` line)."""
    cpuinfo, _, aux = text.partition("\n" + AUXV_MARK + "\n")
    if not re.search(r"^isa\s*:", cpuinfo, re.MULTILINE):
        return {"cpu": None}
    hwcap = None
    if aux.strip():
        hwcap = C.parse_auxv_text(aux) if "AT_" in aux else _or_none(C.parse_auxv_words, aux)
    if hwcap is not None and hwcap >> 26:
        hwcap = None        # RISC-V's AT_HWCAP has only the letter bits: another machine's vector
    try:
        return {"cpu": C.parse_cpuinfo(cpuinfo, hwcap)}
    except BadInput as e:
        raise ValueError(str(e)) from None


def _or_none(parse: Callable[[str], Any], text: str) -> Any:
    try:
        return parse(text)
    except BadInput:
        return None


def _kernel(text: str) -> dict[str, Any]:
    """The release, where the config was read, and the config checked against k3s's needs
    (``kernel`` is ``None`` when the board has no readable config)."""
    head, _, _ = text.partition(FILE_MARK + " ")
    release = _kv(head).get("release", "")
    parts = split_files(text)
    if not parts:
        return {"kernel_release": release, "kernel_config": "", "kernel": None}
    where, config = parts[0]
    try:
        check = K.check_config(config, release)
    except BadInput as e:
        raise ValueError(f"{where}: {e}") from None
    return {"kernel_release": release, "kernel_config": where, "kernel": check}


FACTS: tuple[Fact, ...] = (
    Fact("cluster", "kubectl.json", "k3s kubectl get pods,events,nodes -A -o json",
         lambda t: {"cluster": kube.parse_cluster(_json(t))}),
    Fact("sandboxes", "crictl-pods.json", "k3s crictl pods -o json",
         lambda t: {"sandboxes": kube.parse_sandboxes(_json(t))}),
    Fact("images", "crictl-images.json", "k3s crictl images -o json",
         lambda t: {"images": kube.parse_images(_json(t))}),
    # The systemd unit logs to the journal; the OpenRC service logs to a file.
    Fact("journal", "journal.log",
         "if [ -f {root}" + P.OPENRC_LOG + " ]; then tail -n {lines} {root}" + P.OPENRC_LOG + "; "
         "else journalctl -u k3s -u k3s-agent --no-pager -q -n {lines}; fi",
         lambda t: {"journal": _lines(t)}, empty_ok=True),
    Fact("containerd_log", "containerd.log", "tail -n {lines} {root}" + P.CONTAINERD_LOG,
         lambda t: {"containerd_log": _lines(t)}, empty_ok=True),
    Fact("config", "config.yaml", "cat {root}" + P.CONFIG, lambda t: {"config": _yaml(t)}),
    Fact("registries", "registries.yaml", "cat {root}" + P.REGISTRIES, lambda t: {"registries": _yaml(t)}),
    # The config drop-ins k3s merges after config.yaml, and the manifests it
    # applies (what audit needs); Secret documents are left out of the latter.
    Fact("config_d", "config-d.yaml",
         "for f in {root}" + P.DROPIN_DIR + "/*; do case \"$f\" in *.yaml|*.yml) "
         "printf '" + FILE_MARK + " %s\\n' \"${{f##*/}}\"; cat \"$f\"; echo;; esac; done; true",
         lambda t: {"config_d": tuple(_yaml(text) for _, text in split_files(t))}, empty_ok=True),
    Fact("manifests", "manifests.yaml",
         "cd {root}" + P.MANIFESTS + " && find . -type f \\( -name '*.yaml' -o -name '*.yml' "
         "-o -name '*.json' \\) ! -path '*/.*' | LC_ALL=C sort | while read -r f; do "
         "[ -e \"$f.skip\" ] && continue; printf '" + FILE_MARK + " %s\\n' \"${{f#./}}\"; "
         "awk " + _NO_SECRETS + " \"$f\"; echo; done | head -c 8388608",
         lambda t: {"manifests": split_files(t)}, empty_ok=True),
    Fact("manifests_dir", "manifests.txt", "ls -1A {root}" + P.MANIFESTS,
         lambda t: {"manifests_dir": _lines(t)}, empty_ok=True),
    Fact("images_dir", "images-dir.txt", "ls -1A {root}" + P.IMAGES,
         lambda t: {"images_dir": _lines(t)}, empty_ok=True),
    Fact("version", "k3s-version.txt", "k3s --version", _version, errors=True),
    Fact("uname", "uname.txt", "uname -m", lambda t: {"arch": t.strip()}),
    Fact("mmu", "mmu.txt", "grep -m1 '^mmu' {root}/proc/cpuinfo || echo 'mmu : none'",
         lambda t: {"mmu": _kv(t).get("mmu", "").lower().replace("none", "")}),
    Fact("cpu", "cpuinfo.txt",
         "cat {root}/proc/cpuinfo && {{ printf '\\n" + AUXV_MARK + "\\n'; a=$(cat {root}/proc/self/auxv 2>/dev/null "
         "| od -A n -v -t x8); if [ -n \"$a\" ]; then echo \"$a\"; else LD_SHOW_AUXV=1 {root}/bin/true 2>/dev/null; "
         "fi; true; }}", _cpu),
    Fact("kernel", "kernel.txt",
         "r=$(uname -r); echo \"release: $r\"; "
         "if [ -r {root}/proc/config.gz ]; then printf '" + FILE_MARK + " /proc/config.gz\\n'; "
         "gzip -dc {root}/proc/config.gz | head -c " + str(CONFIG_LIMIT) + "; "
         "elif [ -r {root}/boot/config-\"$r\" ]; then printf '" + FILE_MARK + " /boot/config-%s\\n' \"$r\"; "
         "head -c " + str(CONFIG_LIMIT) + " {root}/boot/config-\"$r\"; fi; true", _kernel),
    Fact("cgroup", "cgroup.txt",
         "echo \"controllers: $(cat {root}/sys/fs/cgroup/cgroup.controllers 2>/dev/null)\"; "
         "if ls {root}/sys/fs/cgroup/*/cpu.weight >/dev/null 2>&1; then echo 'cpu.weight: present'; "
         "else echo 'cpu.weight: missing'; fi",
         lambda t: {"cgroup_controllers": tuple(_kv(t).get("controllers", "").split()),
                    "cpu_weight": {"present": True, "missing": False}.get(_kv(t).get("cpu.weight", ""))}),
    Fact("vxlan", "vxlan.txt",
         "if grep -q '^vxlan ' {root}/proc/modules 2>/dev/null || [ -d {root}/sys/module/vxlan ]; "
         "then echo 'vxlan: loaded'; elif modinfo vxlan >/dev/null 2>&1; then echo 'vxlan: available'; "
         "else echo 'vxlan: missing'; fi",
         lambda t: {"vxlan": _kv(t).get("vxlan", "")}),
    Fact("iptables", "iptables.txt", "iptables --version", lambda t: {"iptables_mode": _iptables(t)}),
    Fact("ip_forward", "ip_forward.txt", "cat {root}/proc/sys/net/ipv4/ip_forward",
         lambda t: {"ip_forward": t.strip()}),
    Fact("clock", "clock.txt", "date -u +%Y-%m-%dT%H:%M:%SZ", lambda t: {"clock": t.strip()}),
    # Read live only (see the module's docstring).
    Fact("hostname", "", "hostname 2>/dev/null || cat /proc/sys/kernel/hostname",
         lambda t: {"hostname": t.strip()}),
    Fact("init", "", "if command -v systemctl >/dev/null 2>&1; then echo systemd; "
                     "elif command -v rc-service >/dev/null 2>&1; then echo openrc; else echo unknown; fi",
         lambda t: {"init": t.strip() or "unknown"}),
    Fact("service", "",
         "for u in " + " ".join(P.UNITS) + "; do [ -e {root}\"$u\" ] && echo \"unit $u\"; done; "
         "ps -eo args 2>/dev/null | grep -E '^([^ ]*/)?k3s (server|agent)' | grep -v grep | sed 's/^/process /'; "
         "true", _role, empty_ok=True),
    # Board paths, not root-prefixed ones; a file that cannot be read fails the fact.
    Fact("files", "",
         "cd {root}/ 2>/dev/null || exit 0; for f in " + " ".join(
             p.lstrip("/") for p in (P.REGISTRIES, P.CONFIG, P.DROPIN_DIR + "/*.yaml", P.CA_DIR + "/*.crt"))
         + "; do [ -f \"$f\" ] || continue; echo \"== /$f\"; base64 < \"$f\" || exit 1; done",
         _base64_files, empty_ok=True),
    Fact("image_files", "", "cd {root}" + P.IMAGES + " 2>/dev/null || exit 0; for f in *; do "
                            "[ -f \"$f\" ] && echo \"$(wc -c < \"$f\") $f\"; done; true", _sizes, empty_ok=True),
    Fact("system_pods", "", "k3s kubectl get pods -n kube-system -o json",
         lambda t: {"system_pods": kube.pods_from_json(t)}),
    Fact("airgap", "", "sha256sum {root}" + P.IMAGES + "/{archive} 2>/dev/null || true", _sha256, empty_ok=True),
    Fact("archives", "", archives.COMMAND, lambda t: {"archives": archives.parse(t)}, empty_ok=True),
)
BY_NAME = {f.name: f for f in FACTS}
# What each fact reads, in the words a user knows (the file or the command),
# for messages: a fact's name is ours, not theirs.
LABELS: dict[str, str] = {
    "cluster": "k3s kubectl get pods,events,nodes", "sandboxes": "k3s crictl pods",
    "images": "k3s crictl images", "journal": f"k3s's log (journalctl -u k3s, or {P.OPENRC_LOG})",
    "containerd_log": P.CONTAINERD_LOG, "config": P.CONFIG, "registries": P.REGISTRIES,
    "config_d": f"{P.DROPIN_DIR}/*.yaml", "manifests": f"{P.MANIFESTS}/*.yaml",
    "manifests_dir": f"the list of {P.MANIFESTS}", "images_dir": f"the list of {P.IMAGES}",
    "version": "k3s --version", "uname": "uname -m", "mmu": "/proc/cpuinfo (mmu)",
    "cpu": "/proc/cpuinfo and the CPU's hwcaps", "kernel": "the kernel's config (/proc/config.gz or /boot/config-*)",
    "cgroup": "/sys/fs/cgroup", "vxlan": "the vxlan kernel module", "iptables": "iptables --version",
    "ip_forward": "/proc/sys/net/ipv4/ip_forward", "clock": "the board's clock (date -u)",
    "hostname": "hostname", "init": "the init system (systemd or OpenRC)", "service": "the k3s service",
    "files": "k3s's configuration files", "image_files": f"the files in {P.IMAGES}",
    "system_pods": "k3s kubectl get pods -n kube-system", "airgap": f"the airgap archive in {P.IMAGES}",
    "archives": f"the image archives in {P.IMAGES}",
}


def label(missing: str) -> str:
    """A :attr:`Facts.missing` entry (``name`` or ``name (unparseable)``) in
    the user's words; any other text (a paste's missing part) unchanged."""
    name, sep, rest = missing.partition(" ")
    return LABELS[name] + sep + rest if name in LABELS else missing
BY_FILE = {f.file: f for f in FACTS if f.file}
PARSERS: dict[str, Parser] = {f.name: f.parse for f in FACTS}
# What ``archport collect`` writes, and what doctor reads: every fact with a file.
DUMPED: tuple[str, ...] = tuple(f.name for f in FACTS if f.file)


@dataclass(frozen=True, slots=True)
class Facts:
    """What doctor and audit read: the values of the dumped facts."""
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
    cpu: C.Cpu | None = None                          # None: not read, or not a RISC-V CPU
    kernel_release: str = ""
    kernel_config: str = ""                           # where the config was read ("" = none readable)
    kernel: K.KernelCheck | None = None
    cgroup_controllers: tuple[str, ...] = ()
    cpu_weight: bool | None = None
    vxlan: str = ""
    iptables_mode: str = ""
    ip_forward: str = ""
    clock: str = ""
    archives: dict = field(default_factory=dict)      # image → agent/images archive (live only)
    collected_at: str = ""
    missing: tuple[str, ...] = ()
    source: str = ""


    def hardware(self) -> dict[str, Any]:
        """The board's CPU and kernel as typed fields (``--json``)."""
        return {"arch": self.arch or None, "mmu": (self.cpu.mmu if self.cpu else self.mmu) or None,
                "cpu": self.cpu.to_dict() if self.cpu else None,
                "kernel": {"release": self.kernel_release or None, "config": self.kernel_config or None,
                           "check": self.kernel.to_dict() if self.kernel else None}}


_FIELDS = frozenset(f.name for f in fields(Facts))


def values(raw: dict[str, Raw], names: tuple[str, ...]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Every named fact's parsed values, and the facts that did not answer
    (``"name (unparseable)"`` when the answer did not parse)."""
    out: dict[str, Any] = {}
    missing = []
    for name in names:
        fact, r = BY_NAME[name], raw.get(name)
        if r is None or r.rc != 0 or (not r.text.strip() and not fact.empty_ok):
            missing.append(name)
            continue
        try:
            out.update(fact.parse(r.text))
        except (ValueError, YAMLError, TypeError, AttributeError, BadInput, RecursionError):
            missing.append(f"{name} (unparseable)")
    return out, tuple(missing)


def parse(raw: dict[str, Raw], source: str = "", collected_at: str = "") -> Facts:
    """The dumped facts, and any other answered fact :class:`Facts` holds;
    unreadable dumped facts are listed in ``missing``."""
    # Parsing a large kubectl document allocates millions of small objects and
    # nothing cyclic; the cyclic GC would rescan them over and over (≈ 40% of
    # the time on a 5,000-pod dump), so it is paused for the parse.
    enabled = gc.isenabled()
    gc.disable()
    try:
        found, missing = values(raw, DUMPED)
        extra, _ = values(raw, tuple(n for n in raw if n in BY_NAME and n not in DUMPED))
    finally:
        if enabled:
            gc.enable()
    kept = {k: v for k, v in {**found, **extra}.items() if k in _FIELDS}
    return Facts(**kept, missing=missing, source=source, collected_at=collected_at)
