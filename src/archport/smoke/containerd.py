"""containerd through ``ctr``, and a private throw-away containerd.

We drive containerd with its own client, ``ctr``, rather than its gRPC API:
it is installed with containerd, speaks every version, and what we run is what
a user would type.  ``ctr`` picks the snapshotter on the *client* side
(``--snapshotter``, env ``CONTAINERD_SNAPSHOTTER``), so an :class:`Endpoint`
carries the snapshotter to use and passes it to every call.

A private containerd (:class:`Private`) runs as root with its own root, state
and socket in one temporary directory under ``/tmp`` (a unix socket path must
stay under ~108 bytes), with the CRI plugin disabled (it wants CNI and is not
needed to import and run images).  Its snapshotter is overlayfs when an
overlay mount works here, else ``native`` (plain copies: slower, works on any
filesystem, e.g. nested in containers without overlay support).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ArchportError

DEFAULT_ADDRESS = "/run/containerd/containerd.sock"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NAMESPACE = "k8s.io"  # the namespace the kubelet (and k3s) use


class ContainerdError(ArchportError):
    """containerd could not be started, or a ``ctr`` command failed."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A containerd we can talk to."""

    address: str
    snapshotter: str = "overlayfs"
    # The environment ``ctr`` runs with, as the caller (the CLI) hands it
    # over; the library never reads its own.  ``CONTAINERD_*`` variables are
    # replaced: they would override the address, namespace and snapshotter.
    environ_base: tuple[tuple[str, str], ...] = ()

    def environ(self, namespace: str) -> dict[str, str]:
        env = {"PATH": DEFAULT_PATH}
        env.update((k, v) for k, v in self.environ_base if not k.startswith("CONTAINERD_"))
        env.update(CONTAINERD_ADDRESS=self.address, CONTAINERD_NAMESPACE=namespace,
                   CONTAINERD_SNAPSHOTTER=self.snapshotter)
        return env

    def ctr(self, *args: str, namespace: str = NAMESPACE, check: bool = True,
            timeout: float | None = 120, input: bytes | None = None) -> subprocess.CompletedProcess:
        """Run ``ctr --address … -n NAMESPACE ARGS``; text output captured.

        With ``check``, a non-zero exit raises :class:`ContainerdError` naming
        the command and ctr's last line of stderr.
        """
        cmd = ["ctr", "--address", self.address, "--namespace", namespace, *args]
        try:
            cp = subprocess.run(cmd, capture_output=True, timeout=timeout, env=self.environ(namespace),
                                input=input, stdin=None if input is not None else subprocess.DEVNULL)
        except FileNotFoundError:
            raise ContainerdError("ctr is not installed (apt-get install containerd)") from None
        except subprocess.TimeoutExpired:
            raise ContainerdError(f"ctr {' '.join(args[:2])} timed out after {timeout}s") from None
        out = subprocess.CompletedProcess(cp.args, cp.returncode,
                                          cp.stdout.decode(errors="replace"), cp.stderr.decode(errors="replace"))
        if check and out.returncode != 0:
            last = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise ContainerdError(f"ctr {' '.join(args[:2])} failed (exit {out.returncode}): {last}")
        return out

    def answers(self, timeout: float = 5) -> bool:
        """True when a containerd serves ``address`` (``ctr version`` works)."""
        if not os.path.exists(self.address):
            return False
        try:
            return self.ctr("version", check=False, timeout=timeout).returncode == 0
        except ContainerdError:
            return False


def overlay_works(scratch: Path) -> bool:
    """Probe: can we mount an overlay filesystem under ``scratch``?

    containerd's overlayfs snapshotter loads even where the mount itself is
    refused (user namespaces, nested overlay, some tmpfs), so try the mount.
    """
    base = Path(tempfile.mkdtemp(prefix="ovl-", dir=scratch))
    dirs = {n: base / n for n in ("lower", "upper", "work", "merged")}
    for d in dirs.values():
        d.mkdir()
    (dirs["lower"] / "f").write_text("x")
    opts = f"lowerdir={dirs['lower']},upperdir={dirs['upper']},workdir={dirs['work']}"
    try:
        cp = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(dirs["merged"])],
                            capture_output=True, timeout=20)
        if cp.returncode != 0:
            return False
        ok = (dirs["merged"] / "f").read_text() == "x"
        subprocess.run(["umount", str(dirs["merged"])], capture_output=True, timeout=20)
        return ok
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _config(base: Path) -> str:
    # containerd 1.6 config format version 2.  Debug and metrics listeners off,
    # CRI off: we only import and run, and must not collide with a system
    # containerd on the same host.
    return "\n".join([
        "version = 2",
        f'root = "{base / "root"}"',
        f'state = "{base / "state"}"',
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        "[grpc]",
        f'  address = "{base / "sock"}"',
        "[ttrpc]",
        f'  address = "{base / "sock.ttrpc"}"',
        "[debug]",
        '  address = ""',
        "[metrics]",
        '  address = ""',
        "",
    ])


@dataclass
class Private:
    """A containerd of our own; use as a context manager or call start/stop.

    ``parent`` is where the temporary directory goes (default ``/tmp``: the
    socket path must be short).  ``snapshotter`` None means probe.
    """

    parent: str = "/tmp"
    snapshotter: str | None = None
    start_timeout: float = 30
    base: Path | None = field(default=None, init=False)
    endpoint: Endpoint | None = field(default=None, init=False)
    _proc: subprocess.Popen | None = field(default=None, init=False, repr=False)

    @property
    def log_path(self) -> Path | None:
        return self.base / "containerd.log" if self.base else None

    def start(self) -> Endpoint:
        if os.geteuid() != 0:
            raise ContainerdError("starting a private containerd needs root "
                                  "(or pass --containerd-address of a running one)")
        if shutil.which("containerd") is None or shutil.which("ctr") is None:
            raise ContainerdError("containerd is not installed (apt-get install containerd runc)")
        self.base = Path(tempfile.mkdtemp(prefix="apctd-", dir=self.parent))
        snap = self.snapshotter or ("overlayfs" if overlay_works(self.base) else "native")
        (self.base / "config.toml").write_text(_config(self.base))
        log = open(self.base / "containerd.log", "wb")
        try:
            self._proc = subprocess.Popen(
                ["containerd", "--config", str(self.base / "config.toml")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal is ours to handle
            )
        finally:
            log.close()
        endpoint = Endpoint(str(self.base / "sock"), snap)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = self._log_tail()
                self.stop()
                raise ContainerdError(f"containerd exited at start-up (exit {self._proc.returncode}): {tail}")
            if endpoint.answers(timeout=5):
                self.endpoint = endpoint
                return endpoint
            time.sleep(0.1)
        tail = self._log_tail()
        self.stop()
        raise ContainerdError(f"containerd did not answer within {self.start_timeout}s: {tail}")

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()  # type: ignore[union-attr]
        except OSError:
            return "(no log)"
        errors = [ln for ln in lines if "level=error" in ln or "level=fatal" in ln]
        return (errors or lines or ["(empty log)"])[-1]

    def stop(self) -> None:
        """Kill leftover tasks, stop containerd, unmount, remove everything."""
        if self.endpoint is not None and self._proc is not None and self._proc.poll() is None:
            _kill_tasks(self.endpoint)
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=15)
        if self.base is not None:
            _unmount_under(self.base)
            shutil.rmtree(self.base, ignore_errors=True)
        self.endpoint = None

    def __enter__(self) -> Endpoint:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _kill_tasks(ep: Endpoint) -> None:
    # Shims outlive containerd by design; a task left running would keep its
    # rootfs mounted and its shim process alive after we are gone.
    try:
        namespaces = ep.ctr("namespaces", "ls", "-q", check=False, timeout=10).stdout.split()
        for ns in namespaces:
            for task in ep.ctr("tasks", "ls", "-q", namespace=ns, check=False, timeout=10).stdout.split():
                ep.ctr("tasks", "kill", "-s", "SIGKILL", task, namespace=ns, check=False, timeout=10)
                ep.ctr("tasks", "delete", "-f", task, namespace=ns, check=False, timeout=10)
    except ContainerdError:
        pass


def _unmount_under(base: Path) -> None:
    prefix = str(base.resolve()) + "/"
    try:
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f]
    except OSError:
        return
    for mp in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True, timeout=20)
