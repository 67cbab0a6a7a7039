"""The node: the board's namespaces, the control plane, containerd and the
riscv64 kubelet, started and stopped as named steps.

``up`` is idempotent (a running bed is left alone) and ``down`` leaves
nothing running: every supervised process group, every process still in the
board's mount namespace and every container in the bed's cgroup is killed;
the namespaces go with their last process.  The host keeps its mounts, links
and sysctls: all of the board's mounts are made inside its own mount
namespace, its links inside its own network namespace.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from testbed import build, cgroups, config, images, paths, pki, supervise
from testbed.paths import Layout

Hook = Callable[[Layout], None]
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")
RUNTIME = ("containerd", "kubelet")
REPO = Path(__file__).resolve().parent.parent


class BedError(RuntimeError):
    pass


def _log(msg: str) -> None:
    print(f"[testbed {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- the board's namespaces ------------------------------------------------------

def holder_pid(lay: Layout) -> int:
    p = supervise.pid(lay, "board")
    if p is None or not (lay.run / "board.ready").exists():
        raise BedError(f"the board is not running (no live holder in {lay.run}); run: scripts/testbed.sh up")
    return p


def board_argv(argv: list[str], root: Path | None = None) -> list[str]:
    """``argv`` run inside the board's mount, network and uts namespaces."""
    pid = holder_pid(paths.layout(root))
    return ["nsenter", f"--target={pid}", "--mount", "--net", "--uts", "--", *argv]


def board_exec(argv: list[str], root: Path | None = None, **run_kw) -> subprocess.CompletedProcess:
    run_kw.setdefault("capture_output", True)
    run_kw.setdefault("text", True)
    return subprocess.run(board_argv(argv, root), **run_kw)


def _board_script(lay: Layout) -> str:
    """What the holder does once in its new namespaces, then it sleeps."""
    w = lay.overlay_work
    lines = [
        f"mount -t overlay overlay -o lowerdir=/etc,upperdir={lay.upper_etc},workdir={w}/etc /etc",
        f"mount -t overlay overlay -o lowerdir=/var,upperdir={lay.upper_var},workdir={w}/var /var",
        "mount -t tmpfs -o mode=755 tmpfs /run",
    ]
    for src, dst in paths.board_binds(lay):
        lines += [f"mkdir -p {dst}", f"mount --bind {src} {dst}"]
    for name in paths.KUBELET_SYSCTLS:
        lines.append(f"mount --bind {lay.sysctl_decoys / name.replace('/', '.')} /proc/sys/{name}")
    lines += [
        "hostname board",
        "ip link set lo up",
        f"ip addr add {paths.BOARD_IP}/32 dev lo",
        # Shared inside the board only (its peer groups are new): kubelet wants
        # /var/lib/kubelet shared for mount propagation.
        "mount --make-rshared /",
        f"touch {lay.run / 'board.ready'}",
        "exec sleep infinity",
    ]
    return "\n".join(lines) + "\n"


def _prepare_dirs(lay: Layout) -> None:
    for d in (lay.run, lay.logs, lay.etcd_data, lay.etc_k3s, lay.var_k3s, lay.run_k3s, lay.kubelet_dir,
              lay.pods_logs, lay.cni_state, lay.upper_etc, lay.upper_var, lay.overlay_work / "etc",
              lay.overlay_work / "var", lay.sysctl_decoys, lay.cni_conf, lay.containerd_config.parent,
              lay.var_k3s / "agent" / "images", lay.var_k3s / "server" / "manifests",
              lay.etc_k3s / "config.yaml.d"):
        d.mkdir(parents=True, exist_ok=True)
    for name in paths.KUBELET_SYSCTLS:
        decoy = lay.sysctl_decoys / name.replace("/", ".")
        if not decoy.exists():
            decoy.write_text(Path(f"/proc/sys/{name}").read_text())
    (lay.upper_etc / "resolv.conf").write_text(config.resolv_conf())
    board_path, generated = config.kubelet_resolv_conf(config.resolv_conf())
    if generated is not None:
        rel = Path(board_path).relative_to(paths.BOARD_VAR_K3S)
        (lay.var_k3s / rel).parent.mkdir(parents=True, exist_ok=True)
        (lay.var_k3s / rel).write_text(generated)


def board_cpuinfo(lay: Layout) -> None:
    """The board's CPU (config.board_cpu) as a RISC-V kernel prints it, bound
    over its /proc/cpuinfo (also on a board started before it had one)."""
    lay.cpuinfo.write_text(config.cpuinfo(config.board_cpu(), os.cpu_count() or 1))
    if board_exec(["grep", "-q", "^isa", "/proc/cpuinfo"], lay.root).returncode != 0:
        board_exec(["mount", "--bind", str(lay.cpuinfo), "/proc/cpuinfo"], lay.root, check=True)


def start_board(lay: Layout) -> None:
    if supervise.alive(lay, "board") and (lay.run / "board.ready").exists():
        return
    (lay.run / "board.ready").unlink(missing_ok=True)
    supervise.start(lay, "board", ["unshare", "--mount", "--net", "--uts", "--propagation", "private",
                                   "--", "sh", "-ec", _board_script(lay)])
    _wait("board namespaces", lambda: (lay.run / "board.ready").exists(), 20, lay, "board")
    pid = supervise.pid(lay, "board")
    (lay.run / "board.mntns").write_text(os.readlink(f"/proc/{pid}/ns/mnt"))


# -- services ----------------------------------------------------------------------

def start_service(name: str, argv: list[str], *, root: Path | None = None, board: bool = True,
                  env: dict | None = None) -> int:
    lay = paths.layout(root)
    return supervise.start(lay, name, board_argv(argv, root) if board else argv, env=env)


def stop_service(name: str, root: Path | None = None) -> None:
    supervise.stop(paths.layout(root), name)


def _forward(lay: Layout, rule: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    name = "forward-" + rule.replace(":", "-")
    supervise.start(lay, name, [sys.executable, "-m", "testbed.forward",
                                f"/proc/{holder_pid(lay)}/ns/net", rule], env=env)
    _wait(f"forwarder {rule}", lambda: _forwarding(lay, name), 15, lay, name)


def _forwarding(lay: Layout, name: str) -> bool:
    """The forwarder says so once all its sockets are bound (forward.py);
    a port held by someone else makes it exit instead."""
    text = (lay.logs / f"{name}.log").read_text(errors="replace")
    return text.rsplit("\n--- ", 1)[-1].find("\nforwarding ") >= 0 and supervise.alive(lay, name)


def forward_host_port(port: int, root: Path | None = None) -> None:
    _forward(paths.layout(root), f"to-host:{port}")


def forward_board_port(port: int, root: Path | None = None) -> None:
    _forward(paths.layout(root), f"to-board:{port}")


def _wait(what: str, ready: Callable[[], bool], timeout: float, lay: Layout, service: str | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if service and not supervise.alive(lay, service):
            raise BedError(f"{what}: {service} exited; see {lay.logs / (service + '.log')}")
        time.sleep(0.3)
    raise BedError(f"{what}: not ready after {timeout:.0f} s; logs in {lay.logs}")


# -- the control plane -------------------------------------------------------------

def _write_kubeconfigs(lay: Layout) -> None:
    server = f"https://127.0.0.1:{paths.PORTS.apiserver}"
    for user in ("controller-manager", "scheduler", "kubelet-client", "kube-proxy", "admin"):
        (lay.root / f"{user}.kubeconfig").write_text(pki.kubeconfig(lay.pki, user, server))
    if not lay.kubeconfig.exists():
        lay.kubeconfig.write_text(pki.kubeconfig(lay.pki, "admin", server))
        lay.kubeconfig.chmod(0o600)


def _apiserver_ready(lay: Layout) -> bool:
    """/readyz as admin; it includes RBAC's bootstrap roles, which the
    controller-manager and the scheduler need from their first request."""
    import ssl
    import httpx
    ctx = ssl.create_default_context(cafile=str(lay.pki / "ca.crt"))
    ctx.load_cert_chain(str(lay.pki / "admin.crt"), str(lay.pki / "admin.key"))
    try:
        r = httpx.get(f"https://127.0.0.1:{paths.PORTS.apiserver}/readyz", verify=ctx, timeout=3)
        return r.status_code == 200
    except httpx.HTTPError:
        return False


def start_control_plane(lay: Layout) -> None:
    supervise.start(lay, "etcd", board_argv(config.etcd_argv(lay), lay.root))
    supervise.start(lay, "kube-apiserver", board_argv(config.apiserver_argv(lay), lay.root))
    _forward(lay, f"to-board:{paths.PORTS.apiserver}")
    _wait("kube-apiserver /readyz", lambda: _apiserver_ready(lay), 120, lay, "kube-apiserver")
    supervise.start(lay, "kube-controller-manager", board_argv(config.controller_manager_argv(lay), lay.root))
    supervise.start(lay, "kube-scheduler", board_argv(config.scheduler_argv(lay), lay.root))
    (lay.root / "kube-proxy.yaml").write_text(config.kube_proxy_config(lay))
    supervise.start(lay, "kube-proxy", board_argv(config.kube_proxy_argv(lay), lay.root))


# -- the runtime -------------------------------------------------------------------

def kubectl(args: list[str], root: Path | None = None, **run_kw) -> subprocess.CompletedProcess:
    lay = paths.layout(root)
    run_kw.setdefault("capture_output", True)
    run_kw.setdefault("text", True)
    return subprocess.run([str(build.by_name()["kubectl"].path("kubectl")), f"--kubeconfig={lay.kubeconfig}",
                           *args], **run_kw)


def ctr(args: list[str], root: Path | None = None, namespace: str = "k8s.io", **run_kw) -> subprocess.CompletedProcess:
    lay = paths.layout(root)
    run_kw.setdefault("capture_output", True)
    run_kw.setdefault("text", True)
    return subprocess.run([str(build.by_name()["containerd"].path("ctr")), "--address", str(lay.containerd_socket),
                           "--namespace", namespace, *args], **run_kw)


def write_runtime_spec(lay: Layout) -> None:
    """The CRI runtime's base spec with the board's CPU model (config.py), read as containerd starts."""
    cp = subprocess.run([str(build.by_name()["containerd"].path("ctr")), "oci", "spec"],
                        capture_output=True, text=True, timeout=60)
    if cp.returncode != 0:
        raise BedError(f"ctr oci spec: {cp.stderr.strip()}")
    lay.runtime_spec.write_text(config.base_runtime_spec(cp.stdout, config.board_cpu()))


def restart_containerd(root: Path | None = None) -> None:
    lay = paths.layout(root)
    supervise.stop(lay, "containerd")
    if not lay.containerd_config.exists():
        lay.containerd_config.write_text(config.containerd_config())
    write_runtime_spec(lay)
    lay.containerd_socket.unlink(missing_ok=True)
    supervise.start(lay, "containerd", board_argv(config.containerd_argv(lay), lay.root),
                    env=dict(os.environ, PATH=f"{build.by_name()['containerd'].dir}:{os.environ.get('PATH', '')}"))
    _wait("containerd socket", lambda: ctr(["version"], lay.root).returncode == 0, 30, lay, "containerd")


def _import_pause(lay: Layout) -> None:
    if ctr(["images", "ls", "-q", f"name=={paths.BED_PAUSE_IMAGE}"], lay.root).stdout.strip():
        return
    tar = images.pause_archive(paths.component_dir("pause", "3.10"), paths.BED_PAUSE_IMAGE)
    cp = ctr(["images", "import", "--all-platforms", str(tar)], lay.root)
    if cp.returncode != 0:
        raise BedError(f"importing the bed's pause image: {cp.stderr.strip()}")


def restart_kubelet(root: Path | None = None) -> None:
    lay = paths.layout(root)
    supervise.stop(lay, "kubelet")
    lay.kubelet_config.write_text(config.kubelet_config(lay))
    cgroups.make()
    supervise.start(lay, "kubelet", board_argv(config.kubelet_argv(lay), lay.root),     # the board's CPU too
                    env={**os.environ, config.QEMU_CPU: config.board_cpu().model})


def restart_runtime(root: Path | None = None) -> None:
    restart_containerd(root)
    restart_kubelet(root)


def node_ready(lay: Layout) -> bool:
    cp = kubectl(["get", "node", paths.NODE_NAME, "-o",
                  "jsonpath={.status.conditions[?(@.type=='Ready')].status}"], lay.root)
    return cp.stdout.strip() == "True"


def _ensure_emulation() -> None:
    from archport import emulation, platform
    emulation.register(platform.parse("linux/riscv64"))


# -- up, down, status --------------------------------------------------------------

def status(root: Path | None = None) -> dict[str, bool]:
    lay = paths.layout(root)
    names = ["board", *CONTROL_PLANE, *RUNTIME]
    names += [n for n in supervise.names(lay) if n not in names]
    return {n: supervise.alive(lay, n) for n in names}


class Locked:
    """One up or down at a time per bed directory (several test sessions may
    share one bed)."""

    def __init__(self, lay: Layout) -> None:
        lay.root.mkdir(parents=True, exist_ok=True)
        self.fh = open(lay.root / ".lock", "w")

    def __enter__(self):
        import fcntl
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        self.fh.close()


def up(root: Path | None = None, *, before_runtime: Hook | None = None, after_ready: Hook | None = None) -> Layout:
    lay = paths.layout(root)
    with Locked(lay):
        return _up(lay, before_runtime, after_ready)


def _up(lay: Layout, before_runtime: Hook | None, after_ready: Hook | None) -> Layout:
    root = lay.root
    st = status(root)
    if all(st.values()) and node_ready(lay):
        board_cpuinfo(lay)
        return lay
    if not st["board"] and any(st[n] for n in (*CONTROL_PLANE, *RUNTIME)):
        # Processes left in a board whose holder died: a new board would not
        # see them.  Start from nothing.
        stop_all(lay)
    t0 = time.monotonic()
    build.ensure_all()
    _ensure_emulation()
    _prepare_dirs(lay)
    pki.ensure(lay.pki)
    _write_kubeconfigs(lay)
    (lay.cni_conf / "10-bridge.conflist").write_text(config.cni_conflist())
    _log("starting the board's namespaces")
    start_board(lay)
    board_cpuinfo(lay)
    _log("starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy")
    start_control_plane(lay)
    if before_runtime:
        before_runtime(lay)
    _log("starting containerd")
    if not supervise.alive(lay, "containerd"):
        restart_containerd(lay.root)
    _import_pause(lay)
    _log("starting the riscv64 kubelet (qemu-user)")
    if not supervise.alive(lay, "kubelet"):
        restart_kubelet(lay.root)
    _wait("node Ready", lambda: node_ready(lay), 180, lay, "kubelet")
    _log(f"node {paths.NODE_NAME} Ready {time.monotonic() - t0:.1f} s after up")
    (lay.run / "ready-seconds").write_text(f"{time.monotonic() - t0:.1f}\n")
    if after_ready:
        after_ready(lay)
    return lay


def _pids_in_mntns(ns: str) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if os.readlink(d / "ns" / "mnt") == ns:
                    out.append(int(d.name))
            except OSError:
                pass
    return out


def down(root: Path | None = None) -> None:
    lay = paths.layout(root)
    if not lay.root.exists():
        return
    with Locked(lay):
        stop_all(lay)


def stop_all(lay: Layout) -> None:
    """``down`` for a caller that holds :class:`Locked` already."""
    for name in ("kubelet", "containerd"):
        supervise.stop(lay, name)
    # Containers are disposable, and a container's PID 1 without a handler
    # ignores TERM (pid_namespaces(7)): KILL them at once.
    supervise.kill_pids(cgroups.pids(), timeout=0)
    mntns = lay.run / "board.mntns"
    if mntns.exists():
        supervise.kill_pids(_pids_in_mntns(mntns.read_text().strip()), timeout=5)
    for name in reversed(supervise.names(lay)):
        supervise.stop(lay, name)
    cgroups.remove()
    mntns.unlink(missing_ok=True)
    (lay.run / "board.ready").unlink(missing_ok=True)


def purge(root: Path | None = None) -> None:
    """``down``, then forget the node's state: the datastore, containerd's
    images and snapshots, kubelet's and CNI's state, the overlays' upper
    directories, what REGISTRY holds (it starts empty with the new board),
    and what a user or an earlier session put on the board for k3s:
    registries.yaml, config.yaml, config.yaml.d and agent/images.
    Certificates, k3s.yaml and server/manifests stay."""
    import shutil

    from testbed import upstream
    lay = paths.layout(root)
    if not lay.root.exists():
        return
    with Locked(lay):
        stop_all(lay)
        for d in (lay.etcd_data, lay.var_k3s / "agent" / "containerd", lay.kubelet_dir, lay.pods_logs,
                  lay.cni_state, lay.run_k3s, lay.upper_etc, lay.upper_var, lay.overlay_work,
                  upstream.registry(lay).storage, lay.etc_k3s / "config.yaml.d", lay.var_k3s / "agent" / "images"):
            shutil.rmtree(d, ignore_errors=True)
        for f in (*lay.etc_k3s.glob("registries.yaml*"), lay.etc_k3s / "config.yaml"):
            f.unlink(missing_ok=True)
