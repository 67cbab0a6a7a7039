"""Kernel smoke: run an image under full-system emulation, on the target's own kernel.

User-mode emulation translates a program's system calls for the host's
kernel.  Some of what a k3s component does is not a system call qemu-user
can translate: ``iptables`` speaks netfilter's binary socket options
(IPT_SO_*) or its netlink family, and a riscv64 ``iptables`` under
qemu-user gets "iptables who?" or "Protocol not supported" on any host.
The only real proof is the target's own kernel, so a recipe with a
``[smoke.kernel]`` table (or ``smoke --mode kernel``) boots one:

    Debian's linux-image-<arch> for the target (signed archive, :mod:`archport.fetch.kernel`)
    + an initramfs: the image's root filesystem, archport's static busybox
      (Debian's busybox-static for the target), the modules, the init (:mod:`.guest`)
    ─► qemu-system-<arch> (:file:`machines.toml`): no disk, no network
       device, no shared folder, the serial console on a pipe
    ─► the init reports; the machine powers off.

The machine is the program's confinement: image code runs as the emulated
machine's root, which owns nothing of the host's.  A program with a
non-root ``User`` is refused for now (the init has no way to change user
that does not depend on the image).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import httpx

from ..catalog.smoke import KernelRun, Signal
from ..errors import ArchportError
from ..fetch import kernel as kernels
from ..fetch.debian import DEB_ARCH, Archive, extract_file, find_package, locate
from ..fetch.http import http_client
from ..imagefs import RootFS
from ..platform import Platform
from . import guest, initramfs
from .outcome import Check
from .target import Program
from .watch import Watched

BOOT_ALLOWANCE = 120.0      # seconds for the machine to boot and power off, besides the program's own


@dataclass(frozen=True, slots=True)
class Machine:
    arch: str                       # Debian architecture
    qemu: str
    args: tuple[str, ...]
    console: str
    kernel_package: str
    suite: str                      # the Debian suite the kernel comes from unless one is named
    image: str                      # path of the boot image in the package, {release} filled at unpack
    source: str


@dataclass(frozen=True, slots=True)
class Boot:
    """Everything a kernel smoke needs besides the image (made by :func:`prepare`)."""

    machine: Machine
    kernel: kernels.Kernel
    busybox: Path
    run: KernelRun

    def describe(self) -> str:
        return f"{self.kernel.package} under {self.machine.qemu}"


def machine(platform: Platform) -> Machine:
    darch = DEB_ARCH.get(platform.architecture, platform.architecture)
    table = tomllib.loads(resources.files("archport.smoke").joinpath("machines.toml").read_text())
    t = table.get(darch)
    if t is None:
        raise ArchportError(f"kernel smoke for {platform} is not supported yet: archport knows how to boot "
                            f"{', '.join(sorted(table))} only")
    return Machine(darch, t["qemu"], tuple(t["args"]), t["console"], t["kernel_package"], t["suite"], t["image"],
                   t["source"])


def prepare(archive_url: str, keyring: str, suite: str | None, cache_dir: Path, platform: Platform,
            run: KernelRun, http: httpx.Client) -> Boot:
    """Fetch (or find in the cache) the kernel, its modules and busybox;
    ``suite`` None: the machine's own (:file:`machines.toml`)."""
    m = machine(platform)
    if shutil.which(m.qemu) is None:
        raise ArchportError(f"kernel smoke needs {m.qemu} (Debian: qemu-system-misc and opensbi)")
    if not archive_url:
        raise ArchportError("kernel smoke needs a Debian archive for the kernel: the machine's apt sources "
                            "name none; pass --debian-archive URL")
    suite = suite or m.suite
    archive = Archive(archive_url, cache_dir, http, keyring)
    index = archive.packages(archive.release(suite), suite, m.arch)     # one read for the kernel and busybox
    k = kernels.prepare(archive, index, m.kernel_package, m.image, run.modules)
    stanza = find_package(index, "busybox-static")
    if stanza is None:
        raise ArchportError(f"Debian {suite}/{m.arch} has no busybox-static for the machine's init")
    bb = Path(cache_dir) / "kernels" / f"busybox-{stanza['SHA256']}"
    if not bb.is_file():
        part = bb.with_suffix(".part")
        extract_file(archive.deb(stanza), "/usr/bin/busybox", part)
        os.replace(part, bb)
    return Boot(m, k, bb, run)


def boot_for(platform: Platform, run: KernelRun, *, archive: str | None, keyring: str | None, suite: str | None,
             cache_dir: Path, http: httpx.Client | None = None) -> Boot:
    """:func:`prepare` from the user's Debian settings (``--debian-archive``,
    ``--debian-keyring``, ``--debian-suite``; None: the machine's apt sources
    and the machine's suite)."""
    url, ring = locate(archive, keyring)
    with http_client(http) as client:
        return prepare(url, ring, suite, cache_dir, platform, run, client)


def _memory_mib(initrd: Path) -> int:
    # The kernel holds the archive and what it unpacks at once, plus itself.
    return min(8192, 384 + 3 * (initrd.stat().st_size >> 20))


def run(boot: Boot, view: RootFS, tree: Path, program: Program, signal: Signal | None, timeout: float,
        tmp: Path) -> tuple[Watched, list[str]]:
    """Boot ``boot``'s machine with the image (``view`` for owners and modes,
    ``tree`` for contents) and run ``program``; the outcome and notes."""
    wait = "running" if signal is not None and signal.kind == "running" else "exit"
    seconds = signal.seconds if wait == "running" else timeout
    plan = guest.Plan(program.argv, program.env, program.workdir or "/",
                      tuple(p.stem for p in boot.kernel.modules), boot.run.sysctls, wait, seconds, boot.run.then)
    marker = "@@archport-" + secrets.token_hex(6)
    initrd = tmp / "initramfs.cpio"
    skipped = _initramfs(initrd, boot, view, tree, program, guest.script(plan, marker))
    notes = [f"kernel run: {boot.describe()}, {len(boot.kernel.modules)} modules"]
    if skipped:
        notes.append(f"not in the machine (device nodes, FIFOs, refused entries): {len(skipped)} paths")
    cmd = [boot.machine.qemu, *boot.machine.args, "-m", str(_memory_mib(initrd)), "-smp", "1",
           "-nodefaults", "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
           "-kernel", str(boot.kernel.image), "-initrd", str(initrd),
           "-append", f"console={boot.machine.console} rdinit=/{initramfs.RESERVED}/init panic=-1 quiet"]
    t0 = time.monotonic()
    limit = seconds + BOOT_ALLOWANCE + 30 * len(plan.then)
    try:
        cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=limit,
                            start_new_session=True)
        console, finished = cp.stdout.decode("utf-8", "replace"), True
    except subprocess.TimeoutExpired as e:
        console, finished = (e.stdout or b"").decode("utf-8", "replace"), False
    elapsed = time.monotonic() - t0
    return judge(guest.read_console(console, marker, plan.then), boot.run, wait, seconds, console, finished,
                 elapsed), notes


def _initramfs(initrd: Path, boot: Boot, view: RootFS, tree: Path, program: Program, init: str) -> list[str]:
    """Write the machine's initramfs: the image's root, the recipe's files and
    directories, and archport's own busybox, modules and init; the paths left out."""
    with open(initrd, "wb") as f:
        w = initramfs.Writer(f)
        skipped = initramfs.image_root(w, view, tree)
        for path, text in program.files:
            w.file(path.lstrip("/"), 0o644, text.encode())
        for d in program.writable:
            w.directory(d.strip("/"), 0o1777)
        own = initramfs.RESERVED            # what guest.BB and the init's paths name
        w.directory(own, 0o700)
        w.directory(f"{own}/modules", 0o700)
        w.file(f"{own}/busybox", 0o755, boot.busybox)
        for ko in boot.kernel.modules:
            w.file(f"{own}/modules/{ko.name}", 0o600, ko)
        w.file(f"{own}/init", 0o755, init.encode())
        w.close()
    return skipped


def judge(rep: guest.Report, kr: KernelRun, wait: str, seconds: float, console: str, finished: bool,
          elapsed: float) -> Watched:
    """The machine's report as a smoke outcome, with a check for each thing
    judged (pure): the run is ready when every check passed."""
    if not rep.booted:
        tail = " | ".join(line.strip() for line in console.splitlines()[-3:] if line.strip())
        why = "the machine never started its init" if finished else "the machine did not finish in time"
        said = f"{why}: {tail or 'no console output'}"
        return Watched(None, "", "", not finished, False, said, elapsed,
                       (Check("boot", False, "the init starts", said, elapsed),))
    out = rep.stdout
    for cmd, code, text in rep.then:
        out += f"\n$ {' '.join(cmd)}  (exit {code})\n{text}"
    said: list[str] = [f"set-up: {p}" for p in rep.problems]
    checks = [Check("set-up", not rep.problems, None, "; ".join(rep.problems) or None)]
    if wait == "running":
        checks.append(Check("running", rep.state == "running", f"running after {seconds:g}s",
                            rep.state or None, elapsed))
        said.append(f"still running after {seconds:g}s" if rep.state == "running" else
                    f"exited {rep.exit_code} before {seconds:g}s" if rep.state == "exited" else "no report")
    else:
        checks.append(Check("exit", rep.state == "exited" and rep.exit_code == 0, 0, rep.exit_code, elapsed))
    if kr.then:
        text = "\n".join(t for _, _, t in rep.then)
        found = [(e, _search(e, text)) for e in kr.expect]
        missing = [e for e, m in found if m is None]
        cmds = "; ".join(" ".join(c) for c in kr.then)
        said.append(f"{cmds}: {len(kr.expect) - len(missing)} of {len(kr.expect)} expected lines" +
                    (f", missing {missing[0]!r}" if missing else ""))
        checks += [Check("then output", m is not None, e, m) for e, m in found]
        checks.append(Check("then ran", len(rep.then) == len(kr.then), len(kr.then), len(rep.then)))
    ok = all(c.passed for c in checks)
    timed_out = rep.state == "timeout" or not finished
    ready = ok if (wait == "running" or kr.then or rep.problems) else None
    return Watched(rep.exit_code, out, rep.stderr, timed_out, ready, "; ".join(said), elapsed, tuple(checks))


def _search(pattern: str, text: str) -> str | None:
    """The first text ``pattern`` matches, line by line."""
    m = re.search(pattern, text, re.MULTILINE)
    return m.group(0) if m is not None else None


__all__ = ["Boot", "Machine", "boot_for", "judge", "machine", "prepare", "run"]
