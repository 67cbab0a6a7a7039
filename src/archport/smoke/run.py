"""``smoke``: run one platform of an image under emulation, report what happened.

    select the platform's manifest ─► spool its blobs to a temporary OCI layout
    ─► read the merged root filesystem (in memory) and resolve argv[0]: a
       missing executable or an ELF of another machine fails here, without
       running (the host might run an amd64 binary natively and "pass")
    ─► binfmt: qemu registered with F, registering it when allowed
    ─► containerd (the one at ``address`` if it answers, else a private one)
       ``ctr images import`` + ``ctr run --rm``  — or, when containerd cannot
       run at all, extract the root (bounded by ``max_extract``) and run
       qemu-user on it, confined (:mod:`.sandbox`) — or, when the recipe
       needs the target's own kernel (``opts.boot``), boot it under
       full-system emulation with the image as its root (:mod:`.vm`).

The process is what the kubelet would start for a container with only
``args`` set: Entrypoint + (ARGS, or the image's Cmd when none are given).

An interrupted smoke is a failed smoke: ``ctr`` and the confined program run
in sessions of their own, so a terminal's Ctrl-C reaches archport only; the
container is then killed, everything is cleaned up, and
:class:`KeyboardInterrupt` propagates (a caller must never read it as a
result).
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import emulation
from ..errors import ArchportError, BadInput
from ..imagefs import RootFS, TooLarge, apply_layer, extract, remove_tree
from ..oci import Index, Manifest, mediatypes as mt
from ..oci.config import ImageConfig, read_config
from ..catalog.smoke import Signal
from ..platform import Platform, RISCV64
from ..store import Source
from . import sandbox, vm
from .containerd import DEFAULT_ADDRESS, ContainerdError, Endpoint, Private
from .mounts import mount_args, stage_files
from .outcome import SmokeResult
from .target import Program, Target, find_exec
from .watch import Watched, watch

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SMOKE_NAMESPACE = "archport-smoke"  # never the kubelet's k8s.io on a shared containerd
# A board has 2-16 GB: what one layer may expand to, and what the emulated
# fallback may write when it extracts the root filesystem.
DEFAULT_MAX_EXTRACT = 4 << 30


@dataclass(frozen=True, slots=True)
class Options:
    platform: Platform = RISCV64
    args: tuple[str, ...] | None = None   # None: the image's Cmd
    expect: str | None = None             # regex over stdout+stderr
    timeout: float = 60
    containerd_address: str = DEFAULT_ADDRESS
    mode: str = "auto"                    # auto | containerd | qemu
    register_binfmt: bool = True
    tmp_parent: str | None = None
    max_extract: int = DEFAULT_MAX_EXTRACT
    tool_env: tuple[tuple[str, str], ...] = ()   # environment for ctr (the CLI passes its own)
    signal: Signal | None = None          # what proves it runs; the run ends when it is seen
    files: tuple[tuple[str, str], ...] = ()   # path in the container -> text, mounted read-only
    writable: tuple[str, ...] = ()        # empty writable directories (a pod's emptyDir)
    env: tuple[tuple[str, str], ...] = ()     # a pod's env, over the image's Env
    boot: vm.Boot | None = None             # run on the target's own kernel (see .vm.prepare)

    @property
    def effective_expect(self) -> str | None:
        if self.expect is not None:
            return self.expect
        return self.signal.expect if self.signal is not None else None


def select(source: Source, platform: Platform) -> tuple[Manifest, ImageConfig]:
    top = source.resolve()
    if isinstance(top, Index):
        desc = top.find(platform)
        if desc is None:
            offered = ", ".join(map(str, top.platforms())) or "no platforms"
            raise ArchportError(f"{source.name} has no {platform} image; it offers {offered}")
        m = source.manifest(desc)
        if not isinstance(m, Manifest):
            raise ArchportError(f"{source.name}: the {platform} entry is itself an index")
    else:
        m = top
    config = read_config(source, m)
    if not config.platform.matches(platform):
        raise ArchportError(f"{source.name} is a {config.platform} image, not {platform}")
    return m, config


def process_argv(config: ImageConfig, args: tuple[str, ...] | None) -> tuple[str, ...]:
    """Entrypoint + (args or Cmd): what the kubelet execs for ``args:`` only."""
    argv = tuple(config.entrypoint or ()) + (tuple(args) if args is not None else tuple(config.cmd or ()))
    if not argv:
        raise BadInput("the image has neither Entrypoint nor Cmd: pass the command after --")
    return argv


def spool(source: Source, m: Manifest, name: str, layout: Path) -> list[Path]:
    """Write a one-image OCI layout (digest-verified blobs); return layer paths."""
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    paths = []
    for desc in m.blobs():
        dst = blobs / desc.digest.hex
        if not dst.exists():
            with source.open_blob(desc) as chunks, open(dst, "wb") as f:
                for c in chunks:
                    f.write(c)
        if desc is not m.config:
            paths.append(dst)
    (blobs / m.digest.hex).write_bytes(m.raw)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    # containerd names an imported image after io.containerd.image.name
    # verbatim (its archive importer), so give it the exact name we run.
    entry = {"mediaType": m.media_type, "digest": str(m.digest), "size": len(m.raw),
             "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": "latest"}}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX,
                                                   "manifests": [entry]}))
    return paths


def _tar(layout: Path, out: Path) -> None:
    with tarfile.open(out, "w") as tar:
        for p in sorted(layout.rglob("*")):
            tar.add(p, arcname=str(p.relative_to(layout)), recursive=False)


def _match(expect: str | None, text: str) -> bool | None:
    if expect is None:
        return None
    return re.search(expect, text, re.MULTILINE) is not None


def compile_expect(expect: str | None) -> None:
    if expect is not None:
        try:
            re.compile(expect)
        except (re.error, OverflowError, RecursionError) as e:  # a{99999999999}: too large a count
            raise BadInput(f"--expect {expect!r}: not a regular expression: {e}") from None


def run_in_containerd(ep: Endpoint, archive: Path, name: str, opts: Options, argv: tuple[str, ...],
                      namespace: str, mounts: Path | None = None) -> Watched:
    plat = str(opts.platform)
    ep.ctr("images", "import", "--platform", plat, str(archive), namespace=namespace, timeout=300)
    cid = "archport-smoke-" + uuid.uuid4().hex[:10]
    cmd = ["ctr", "--address", ep.address, "--namespace", namespace, "run", "--rm", "--platform", plat,
           *mount_args(opts.files, opts.writable, mounts), *_env_args(opts.env), name, cid, *argv]
    try:
        # A session of its own: ``ctr run`` forwards the signals it gets to the
        # container, and a terminal's Ctrl-C must not become the container's
        # (often clean) way out.  No --net-host: the container keeps a network
        # namespace of its own (runc brings its loopback up), and a network
        # signal is asked from inside that namespace (see .watch).
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=ep.environ(namespace), start_new_session=True)
        return watch(proc, opts.timeout, opts.signal, netns_pid=lambda: _task_pid(ep, cid, namespace),
                     stop=lambda: _stop_task(ep, cid, namespace, proc))
    finally:
        ep.ctr("images", "rm", "--sync", name, namespace=namespace, check=False, timeout=60)


def _task_pid(ep: Endpoint, cid: str, namespace: str) -> int | None:
    """The task's init pid once it runs (``ctr tasks ls``: TASK PID STATUS)."""
    try:
        out = ep.ctr("tasks", "ls", namespace=namespace, check=False, timeout=10).stdout
    except ContainerdError:
        return None
    for line in out.splitlines():
        cols = line.split()
        if len(cols) >= 3 and cols[0] == cid and cols[2] == "RUNNING" and cols[1].isdigit() and cols[1] != "0":
            return int(cols[1])
    return None


def _stop_task(ep: Endpoint, cid: str, namespace: str, proc: subprocess.Popen) -> None:
    ep.ctr("tasks", "kill", "-s", "SIGKILL", cid, namespace=namespace, check=False, timeout=30)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    ep.ctr("tasks", "delete", "-f", cid, namespace=namespace, check=False, timeout=30)
    ep.ctr("containers", "delete", cid, namespace=namespace, check=False, timeout=30)


def _env_args(env: tuple[tuple[str, str], ...]) -> list[str]:
    return [a for k, v in env for a in ("--env", f"{k}={v}")]


def _env_of(config: ImageConfig, extra: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
    """The image's Env, then the pod's (``extra``) over it, as the kubelet merges them."""
    env = {}
    for e in config.env or (f"PATH={DEFAULT_PATH}",):
        k, _, v = e.partition("=")
        env[k] = v
    return {**env, **dict(extra)}


def merged_view(layers: list[Path], limit: int | None) -> RootFS:
    """The image's merged root filesystem, heads of files only (for argv[0])."""
    fs = RootFS(spool=False)
    for i, path in enumerate(layers):
        with open(path, "rb") as f:
            try:
                apply_layer(fs, i, iter(lambda: f.read(1 << 20), b""), f"layer {i + 1}", limit)
            except TooLarge as e:
                raise TooLarge(f"layer {i + 1} {e}; raise the cap with --max-extract-size", e.limit) from None
    return fs


MODES = ("auto", "containerd", "qemu", "kernel")


@dataclass(slots=True)
class _Run:
    """One smoke run as it goes: what runs, where its files are, the notes it gathers."""

    image: str
    opts: Options
    config: ImageConfig
    argv: tuple[str, ...]
    tmp: Path
    say: Callable[[str], None]
    notes: list[str] = field(default_factory=list)
    private: Private | None = None          # a containerd of our own, stopped at the end

    @property
    def program(self) -> Program:
        return Program(self.argv, tuple(_env_of(self.config, self.opts.env).items()),
                       self.config.working_dir or "/", self.opts.files, self.opts.writable)

    @property
    def signal_text(self) -> str:
        opts = self.opts
        return ", ".join(t for t in (opts.signal.describe() if opts.signal is not None else "",
                                     opts.boot.run.describe() if opts.boot is not None else "") if t)

    def refused(self, path: str, error: str) -> SmokeResult:
        """The program was not run: ``error`` says why."""
        return SmokeResult(self.image, str(self.opts.platform), path, self.argv, None,
                           expect=self.opts.effective_expect, error=error, notes=tuple(self.notes),
                           signal=self.signal_text)

    def result(self, path: str, w: Watched) -> SmokeResult:
        expect, signal_text = self.opts.effective_expect, self.signal_text
        if w.ready is not None:
            self.notes.append(f"ready after {w.seconds:.1f}s ({w.said}); stopped" if w.ready else
                              f"never ready ({signal_text or 'the kernel run'}): {w.said or 'no answer'}")
        return SmokeResult(self.image, str(self.opts.platform), path, self.argv, w.exit_code, w.stdout, w.stderr,
                           w.timed_out, expect, _match(expect, w.stdout + w.stderr), "", tuple(self.notes),
                           signal_text, w.ready, w.said, w.seconds, judged=w.checks)


def smoke(source: Source, opts: Options, *, progress: Callable[[str], None] | None = None) -> SmokeResult:
    """Run ``source``'s ``opts.platform`` image once; never raises for what
    the image does (that is the result), only for what stops us from trying."""
    compile_expect(opts.effective_expect)
    if opts.mode not in MODES:
        raise BadInput(f"unknown smoke mode {opts.mode!r}")
    m, config = select(source, opts.platform)
    argv = process_argv(config, opts.args)
    tmp = Path(tempfile.mkdtemp(prefix="archport-smoke-", dir=opts.tmp_parent))
    run = _Run(source.name, opts, config, argv, tmp, progress or (lambda _msg: None))
    try:
        name = f"archport.local/smoke/{m.digest.hex[:16]}:latest"
        run.say("reading the image")
        layers = spool(source, m, name, tmp / "layout")
        view = merged_view(layers, opts.max_extract)
        target = find_exec(view, argv[0], config.path or DEFAULT_PATH, config.working_dir)
        refused = _refusal(target, argv[0], opts.platform)
        if refused:
            return run.refused("none", refused)
        if opts.boot is not None or opts.mode == "kernel":
            return _on_kernel(run, view, layers)
        st = _binfmt(run)
        ep, why_not = _containerd(run, st)
        if ep is not None:
            return _in_containerd(run, ep, name)
        assert target.path is not None
        return _on_qemu(run, st, why_not, layers, target.path)
    finally:
        if run.private is not None:
            run.private.stop()
        remove_tree(tmp)


def _refusal(target: Target, argv0: str, platform: Platform) -> str:
    """Why ``argv[0]`` cannot run on a ``platform`` node, as runc and the kernel say it; "" when it can."""
    if target.path is None:
        return (f'exec: "{argv0}": executable file not found in $PATH' if "/" not in argv0
                else f'exec: "{argv0}": stat {argv0}: no such file or directory')
    if target.machine not in ("", "script", platform.architecture):
        return (f"exec format error: {target.path} is an ELF for {target.machine}, "
                f"not {platform.architecture} (a {platform} node cannot run it)")
    return ""


def _binfmt(run: _Run) -> emulation.Status:
    """binfmt_misc's state for the platform, registering qemu when missing and allowed."""
    plat = run.opts.platform
    st = emulation.status(plat)
    if not st.ready and st.can_fix and run.opts.register_binfmt:
        run.say(f"registering qemu for {plat.architecture} in binfmt_misc")
        try:
            st = emulation.register(plat)
            run.notes.append(f"registered qemu for {plat.architecture} in binfmt_misc")
        except emulation.EmulationError as e:
            run.notes.append(str(e))
    return st


def _containerd(run: _Run, st: emulation.Status) -> tuple[Endpoint | None, str]:
    """The containerd to run in (the one at the address if it answers, else a
    private one), or None and why not."""
    if run.opts.mode == "qemu":
        return None, ""
    if not st.ready:
        return None, st.missing
    existing = Endpoint(run.opts.containerd_address, environ_base=run.opts.tool_env)
    if existing.answers():
        return existing, ""
    run.say("starting a private containerd")
    try:
        run.private = Private()
        ep = run.private.start()
    except ContainerdError as e:
        run.private = None
        return None, str(e)
    run.notes.append(f"private containerd ({ep.snapshotter} snapshotter)")
    return ep, ""


def _in_containerd(run: _Run, ep: Endpoint, name: str) -> SmokeResult:
    opts, tmp = run.opts, run.tmp
    archive = tmp / "image.tar"
    _tar(tmp / "layout", archive)
    stage_files(opts.files, tmp / "files")
    run.say("running in containerd" + (f", until {opts.signal.describe()}" if opts.signal else ""))
    w = run_in_containerd(ep, archive, name, opts, run.argv, SMOKE_NAMESPACE, tmp / "files")
    return run.result("containerd", w)


def _on_qemu(run: _Run, st: emulation.Status, why_not: str, layers: list[Path], target: str) -> SmokeResult:
    """The confined fallback: qemu-user over the extracted root (:mod:`.sandbox`)."""
    opts = run.opts
    if opts.mode == "containerd":
        raise ArchportError("cannot run in containerd: "
                            + (why_not or f"binfmt_misc has no interpreter for {opts.platform}"))
    if why_not:
        run.notes.append(f"containerd not used: {why_not}")
    qst = emulation.status(opts.platform, need_fix_binary=False)
    qemu = None if st.native else emulation.qemu_binary(opts.platform)
    if not st.native and (not qst.ready or qemu is None):
        raise ArchportError(qst.missing or st.missing)
    if st.native:
        raise ArchportError(f"cannot run in containerd: {why_not}" if why_not else
                            f"{opts.platform} is this machine's own: qemu has nothing to emulate "
                            "(use --mode containerd)")
    assert qemu is not None
    root = _extracted(run, layers, owner=sandbox.owner())
    stage_files(opts.files, root, opts.writable)
    run.say(f"running under {Path(qemu).name}, confined")
    return run.result("qemu", sandbox.run(qemu, root, target, run.program, opts.timeout, opts.signal,
                                          max_write=opts.max_extract))


def _extracted(run: _Run, layers: list[Path], owner: tuple[int, int] | None = None) -> Path:
    run.say("extracting the root filesystem")
    root = run.tmp / "rootfs"
    try:
        run.notes += extract(layers, root, max_size=run.opts.max_extract, owner=owner)
    except TooLarge as e:
        raise TooLarge(f"{e}; raise the cap with --max-extract-size", e.limit) from None
    return root


def _on_kernel(run: _Run, view: RootFS, layers: list[Path]) -> SmokeResult:
    opts, config = run.opts, run.config
    if opts.boot is None:
        raise BadInput("--mode kernel needs the target's kernel: the caller prepares it (smoke.vm.prepare)")
    if config.user not in (None, "", "0", "root", "0:0", "root:root"):
        return run.refused("kernel", f"a kernel run starts the program as root; the image's User "
                                     f"{config.user!r} is not supported yet")
    root = _extracted(run, layers)
    run.say(f"booting {opts.boot.describe()}" + (f", until {opts.signal.describe()}" if opts.signal else ""))
    # argv as runc gets it: the machine's exec looks argv[0] up in the
    # program's PATH, and a multi-call binary (xtables-legacy-multi,
    # busybox) still sees the name it was called by.
    w, more = vm.run(opts.boot, view, root, run.program, opts.signal, opts.timeout, run.tmp)
    run.notes += more
    return run.result("kernel", w)


__all__ = ["Options", "smoke", "select", "process_argv", "spool"]
