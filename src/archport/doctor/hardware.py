"""The board's own hardware in the diagnosis: its CPU's extensions and its kernel.

* **ISA.**  A program that executes an instruction the CPU does not have is
  killed with SIGILL; its container exits with 132 (128 + 4).  On a RISC-V
  board whose extensions are known (the ``cpu`` fact), that is an image built
  for a higher profile than the board's (Go's ``GORISCV64=rva22u64``, a C
  toolchain's ``-march=rv64gcv``): no OCI platform field says so, the
  binaries do (:mod:`archport.check.isa`).  The group is renamed
  ``isa-mismatch`` and given the board's profile and the rebuild at it;
  :func:`registry_probe` reads each such image's riscv64 binaries and
  :func:`apply` names the binary and the extensions it needs that the board
  lacks.
* **Kernel.**  The ``kernel`` fact holds the config checked against k3s's
  check-config.sh list (:mod:`archport.node.kernel`).  What k3s cannot run
  without is always a finding; the rest is named where it explains a failure
  seen: no vxlan under flannel's default backend, no legacy iptables under
  ServiceLB, and the messages of failing pods that name the missing piece.

:func:`summary` is the node section doctor prints first.  All pure except
:func:`registry_probe`.
"""

from __future__ import annotations

import re
from typing import Callable

from .. import platform as plat
from ..check import check_image
from ..check.isa import target_board
from ..catalog import riscv as profiles
from ..node.cpu import Cpu
from ..node.facts import Facts
from ..node.kernel import Gap, KernelCheck
from .report import Group, Report

#: image -> [(path, extensions the board lacks, what built it that way)]
Probe = Callable[[str], "list[tuple[str, tuple[str, ...], str]]"]
MISMATCH = "isa-mismatch"
SIGILL = "sigill"

# Words in a failing pod's messages that a kernel gap explains.
_GAP_WORDS = {
    "seccomp": re.compile(r"seccomp", re.IGNORECASE),
    "cgroups": re.compile(r"cgroup", re.IGNORECASE),
    "namespaces": re.compile(r"namespace|unshare|clone", re.IGNORECASE),
    "keys-ipc": re.compile(r"keyring|mqueue", re.IGNORECASE),
    "bridge": re.compile(r"cni0|\bbridge\b|veth", re.IGNORECASE),
    "netfilter": re.compile(r"iptables|xtables|nf_nat", re.IGNORECASE),
}


# --- the node section ---------------------------------------------------------------

def profile_of(cpu: Cpu) -> str:
    return cpu.profile.upper() if cpu.profile else "below RVA20U64"


def describe_cpu(cpu: Cpu) -> str:
    vector = "RVV 1.0" if cpu.has_vector else ("T-Head vector 0.7.1, not RVV 1.0" if "xtheadvector" in
                                               cpu.extensions else "no vector")
    parts = [f"meets {profile_of(cpu)}", vector]
    if cpu.mmu:
        parts.append(f"MMU {cpu.mmu}")
    return f"{', '.join(parts)} (isa {cpu.isa})"


def summary(facts: Facts) -> list[str]:
    """What the board is: CPU profile, extensions, MMU, kernel and its blocking gaps."""
    out = []
    if facts.cpu is not None:
        c = facts.cpu
        out.append(f"cpu: {describe_cpu(c)}" + (f", {c.harts} harts, {c.uarch}" if c.uarch else ""))
        shown = profiles.minimal(c.extensions)
        letters = [x for x in "imafdqcbvh" if x in shown]       # the ISA string's canonical order
        out.append("extensions: " + " ".join(letters + [x for x in shown if x not in letters]))
        out.extend(f"cpu: {n}" for n in c.notes)
    elif facts.mmu:
        out.append(f"cpu: MMU {facts.mmu} (its ISA line was not read)")
    if facts.kernel_release or facts.kernel is not None:
        out.append(f"kernel: {facts.kernel_release or facts.kernel.version}" + _kernel_verdict(facts))
    return out


def _kernel_verdict(facts: Facts) -> str:
    k = facts.kernel
    if k is None:
        return " (no config readable: neither /proc/config.gz nor /boot/config-<release>)"
    if k.blocking:
        return f": lacks what k3s cannot run without: {'; '.join(_options(g) for g in k.blocking)}"
    backends = ", ".join(k.backends) or "none"
    return f": has what k3s needs (config {facts.kernel_config}; iptables backends: {backends})"


def _options(g: Gap) -> str:
    return ", ".join(f"CONFIG_{o}" for o in g.options)


# --- ISA ----------------------------------------------------------------------------

def board_profile_flag(cpu: Cpu | None) -> str:
    """``--profile`` as port takes it: the board's, RVA20 (the baseline) below it."""
    if cpu is None:
        return "<board's profile: rva20|rva22|rva23>"
    return profiles.profile(cpu.profile).short if cpu.profile else "rva20"


def _rebuild(image: str, cpu: Cpu | None) -> str:
    return (f"archport port {image} --arch riscv64 --rebuild --profile {board_profile_flag(cpu)} "
            f"--to <your-registry>/<prefix>    # rebuild its binaries for the board's profile; the other "
            f"platforms stay as they are")


def diagnose_isa(rep: Report, facts: Facts, board: str) -> None:
    """SIGILL groups on a board whose CPU is known are an ISA mismatch."""
    cpu = facts.cpu
    for g in rep.groups:
        if g.cause != SIGILL:
            continue
        image = g.images[0] if g.images else "<image>"
        check = (f"archport check {image} --board {board or '<board>'}    # names each binary that needs an "
                 f"extension the board lacks, and what built it that way")
        if cpu is None:
            g.fix = [f"the board's CPU was not read: archport doctor --host {board or '<board>'} reads it "
                     "(/proc/cpuinfo), or " + check.split("    #")[0], _rebuild(image, None)]
            continue
        g.cause = MISMATCH
        lead = g.title.split(": ", 1)[0] + ": " if g.pods else ""
        g.title = (f"{lead}image {image} dies with SIGILL: it was built for more of the RISC-V ISA than this "
                   f"board has ({profile_of(cpu)}, isa {cpu.isa})")
        g.evidence.append(f"/proc/cpuinfo: {describe_cpu(cpu)}")
        g.fix = [check, _rebuild(image, cpu)]
        g.weight = max(g.weight, 92)


def apply(rep: Report, facts: Facts, results: dict) -> None:
    """Name the binaries of each mismatched image (probe results, image -> list or Exception)."""
    cpu = facts.cpu
    for g in rep.groups:
        if g.cause != MISMATCH:
            continue
        for image in g.images:
            r = results.get(image)
            if r is None:
                continue
            if isinstance(r, Exception):
                rep.notes.append(f"ISA: the binaries of {image} could not be read ({r}); "
                                 f"archport check {image} --board <board> reads them")
                continue
            if not r:
                g.evidence.append(f"{image}: no riscv64 binary says it needs more than the board has "
                                  "(.riscv.attributes, Go's GORISCV64): the illegal instruction comes from code "
                                  "that does not declare it (a JIT, hand-written assembly)")
                continue
            for path, lacking, origin in r[:3]:
                g.evidence.append(f"{image}: {path} needs {', '.join(lacking)}, which the board lacks "
                                  f"(built with {origin})")
            if len(r) > 3:
                g.evidence.append(f"{image}: … and {len(r) - 3} more binaries like it")
            g.fix = [f for f in g.fix if not f.startswith("archport check ")] or [_rebuild(image, cpu)]
    rep.sort()


def images_to_probe(rep: Report) -> list[str]:
    return sorted({i for g in rep.groups if g.cause == MISMATCH for i in g.images})


def registry_probe(open_source: Callable[[str], object], platform: plat.Platform, cpu: Cpu) -> Probe:
    """Check an image's riscv64 binaries against the board's CPU (:func:`archport.check.check_image`)."""

    target = target_board(f"({profile_of(cpu)})", cpu.extensions, cpu.profile)

    def probe(image: str) -> list[tuple[str, tuple[str, ...], str]]:
        report = check_image(open_source(image), platform, isa=target)
        out = []
        for r in report.requirements:
            lacking = profiles.missing(r.extensions, target.extensions)
            if lacking:
                out.append((r.path, lacking, r.describe_origin()))
        return out
    return probe


# --- kernel ---------------------------------------------------------------------------

def kernel_findings(rep: Report, facts: Facts) -> list[Group]:
    """Kernel gaps: blocking ones always, the others where a failure shows them."""
    k = facts.kernel
    if k is None:
        return []
    out: list[Group] = []
    where = facts.kernel_config or "the kernel config"
    for gap in k.blocking:
        g = Group(f"node-kernel-{gap.group}", f"the kernel lacks {_options(gap)}: {gap.explains}", "error",
                  evidence=[f"{where} ({facts.kernel_release or k.version}): {_options(gap)} not set"],
                  fix=[f"boot a kernel built with {', '.join(f'CONFIG_{o}=y' for o in gap.options)} "
                       "(k3s check-config.sh checks the same list)"], weight=93)
        _explained(rep, gap, g)
        out.append(g)
    cfg = facts.config
    backend = str(cfg.get("flannel-backend") or "vxlan")
    if k.lacks("vxlan") and backend == "vxlan":
        gap = next(x for x in k.gaps if x.group == "vxlan")
        known = next((g for g in rep.groups if g.cause == "node-vxlan"), None)
        line = f"{where}: CONFIG_VXLAN not set"
        if known is not None:
            known.evidence.append(line)
        else:
            out.append(Group("node-kernel-vxlan", f"the kernel has no vxlan: {gap.explains}", "error",
                             evidence=[line], fix=["boot a kernel built with CONFIG_VXLAN=m, or set flannel-backend: "
                                                   "host-gw in /etc/rancher/k3s/config.yaml (one-node clusters "
                                                   "need no overlay)"], weight=87))
    if "legacy" not in k.backends and not _disabled(cfg, "servicelb"):
        svclb = sorted({p for g in rep.groups for p in g.pods if p.split("/", 1)[-1].startswith("svclb-")})
        if svclb or facts.iptables_mode == "legacy":
            gap = next(x for x in k.backend_gaps if x.group == "iptables-legacy")
            out.append(Group("node-kernel-iptables-legacy",
                             f"the kernel has no legacy iptables ({_options(gap)} missing): {gap.explains}",
                             "error", pods=svclb, evidence=[f"{where}: {_options(gap)} not set"]
                             + (["iptables --version: (legacy)"] if facts.iptables_mode == "legacy" else []),
                             fix=["boot a kernel built with " + ", ".join(f"CONFIG_{o}=m" for o in gap.options),
                                  "or disable: servicelb in /etc/rancher/k3s/config.yaml (and use another load "
                                  "balancer)"], weight=86))
    cpu_gap = next((x for x in k.gaps if x.group == "cgroup-extras" and "FAIR_GROUP_SCHED" in x.options), None)
    if cpu_gap is not None:
        for g in rep.groups:
            if g.cause == "node-cgroup-cpu":
                g.evidence.append(f"{where}: CONFIG_FAIR_GROUP_SCHED not set")
    return out


def _explained(rep: Report, gap: Gap, kernel_group: Group) -> None:
    word = _GAP_WORDS.get(gap.group)
    if word is None:
        return
    for g in rep.groups:
        if g is kernel_group or not g.pods:
            continue
        if any(word.search(e) for e in g.evidence):
            g.consequences.append(f"follows from the kernel lacking {_options(gap)} (see: {kernel_group.title})")
            kernel_group.pods.extend(p for p in g.pods if p not in kernel_group.pods)


def _disabled(cfg: dict, what: str) -> bool:
    d = cfg.get("disable")
    return what in (" ".join(str(x) for x in d) if isinstance(d, list) else str(d or ""))


def blocking_lines(k: KernelCheck) -> list[str]:
    """One line per missing thing k3s cannot run without (deploy's refusal)."""
    return [f"{_options(g)}: {g.explains}" for g in k.blocking]
