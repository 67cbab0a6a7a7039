"""The stand-in wired to the bed's node: paths, tools and the runtime restart.

Everything here is plumbing between :mod:`testbed.paths` / :mod:`testbed.node`
(the node, part of the bed) and :mod:`.server` (k3s's file handling).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from standins import shared
from testbed import paths

from . import registries, server

REPO = Path(__file__).resolve().parents[2]
SERVICE = "k3s"                  # the supervised name of `k3s server`


def packaged_manifests() -> Path:
    return shared.MANIFESTS


def tool(component: str, binary: str) -> str:
    from testbed import build
    return str(build.by_name()[component].path(binary))


def node_values() -> registries.Node:
    # What the bed's node needs from containerd's config (testbed/node.py
    # base config): cgroupfs runc, CNI from Debian's plugins, and the
    # restricted OOM score adjustment this VM needs (no CAP_SYS_RESOURCE).
    return registries.Node(opt_path=paths.BOARD_VAR_K3S + "/agent/containerd",
                           cni_bin_dir=str(paths.CNI_BIN),
                           cni_conf_dir=paths.BOARD_CNI_CONF,
                           restricted=True, systemd_cgroup=False,
                           base_runtime_spec=str(paths.layout().runtime_spec))


def on_board() -> bool:
    """True inside the board's mount namespace (its /etc/rancher/k3s is the bed's)."""
    lay = paths.layout()
    try:
        return os.path.samefile(paths.BOARD_ETC_K3S, lay.etc_k3s)
    except OSError:
        return False


def board(lay: paths.Layout | None = None, *, restart: bool = True) -> server.Board:
    lay = lay or paths.layout()
    inside = on_board()

    def restart_runtime() -> None:
        from testbed import node
        node.restart_runtime(lay.root)

    def helm_controller() -> str | None:
        return start_helm_controller(lay)

    return server.Board(
        etc=Path(paths.BOARD_ETC_K3S) if inside else lay.etc_k3s,
        var=Path(paths.BOARD_VAR_K3S) if inside else lay.var_k3s,
        packaged=packaged_manifests(),
        log=lay.logs / "k3s.log",
        state=lay.run / "k3s-standin.json",
        kubectl=(tool("kubectl", "kubectl"), "--kubeconfig", str(lay.kubeconfig)),
        ctr=(tool("containerd", "ctr"), "--address", str(lay.containerd_socket), "--namespace", "k8s.io"),
        node=node_values(),
        restart_runtime=restart_runtime if restart else (lambda: None),
        containerd_log=lay.logs / "containerd.log",
        helm_controller=helm_controller,
    )


def helm_cache() -> Path:
    from . import helm
    return paths.component_dir("helm-controller", helm.VERSION)


def start_helm_controller(lay: paths.Layout) -> str | None:
    """Run the cached helm-controller (built by :func:`after_ready`); None
    when it runs, else why it does not."""
    import subprocess

    from testbed import node, supervise

    from . import helm
    binary = helm_cache() / "helm-controller"
    reason_file = helm_cache().with_name(helm_cache().name + ".unavailable")
    if not binary.is_file():
        return reason_file.read_text().strip() if reason_file.is_file() else "not built on this machine"
    kubectl = [tool("kubectl", "kubectl"), "--kubeconfig", str(lay.kubeconfig)]
    for crd in helm.CRDS:   # k3s creates these itself before starting helm-controller (pkg/crd)
        subprocess.run([*kubectl, "apply", "-f", "-"], input=json.dumps(crd), capture_output=True, text=True,
                       check=True, timeout=120)
    subprocess.run([*kubectl, "wait", "--for=condition=Established", "--timeout=60s",
                    *[f"crd/{c['metadata']['name']}" for c in helm.CRDS]], capture_output=True, timeout=120)
    if not supervise.alive(lay, "helm-controller"):
        node.start_service("helm-controller", [str(binary), "--kubeconfig", str(lay.kubeconfig)], root=lay.root,
                           board=True)
    return None


def build_helm_controller() -> str | None:
    """Build helm-controller once per machine; None when built, else the reason (kept beside the cache)."""
    from . import helm
    reason_file = helm_cache().with_name(helm_cache().name + ".unavailable")
    try:
        helm.ensure(helm_cache())
    except helm.Unavailable as e:
        reason_file.write_text(str(e) + "\n")
        return str(e)
    reason_file.unlink(missing_ok=True)
    return None


def log_files(lay: paths.Layout | None = None) -> list[str]:
    lay = lay or paths.layout()
    return [str(lay.logs / n) for n in ("k3s.log", "kubelet.log", "containerd.log")]


def state(lay: paths.Layout) -> dict:
    try:
        return json.loads((lay.run / "k3s-standin.json").read_text())
    except (OSError, ValueError):
        return {}


def start_service(lay: paths.Layout, restart: bool = True, timeout: float = 600) -> str:
    """(Re)start the supervised ``k3s server``; wait for its first start to
    finish.  Returns the state: active, failed or activating (timed out)."""
    from testbed import node, supervise
    if not restart and supervise.alive(lay, SERVICE) and state(lay).get("active") == "active":
        return "active"
    node.stop_service(SERVICE, root=lay.root)
    (lay.run / "k3s-standin.json").unlink(missing_ok=True)
    node.start_service(SERVICE, [sys.executable, "-m", "testbed.k3s", "k3s", "server"], root=lay.root,
                       board=True, env={**os.environ, "PYTHONPATH": str(REPO),
                                        "ARCHPORT_TESTBED_DIR": str(lay.root)})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = state(lay).get("active")
        if st in ("active", "failed"):
            return st
        if not supervise.alive(lay, SERVICE):
            return "failed"
        time.sleep(0.5)
    return "activating"


def before_runtime(lay: paths.Layout) -> None:
    """node.up hook: render containerd's config from the board's files before
    containerd first starts (k3s writes it before starting containerd)."""
    b = board(lay, restart=False)
    log = server.Log(b.log)
    s = server.read_settings(b, log)
    server.write_containerd_config(b, s, log)


def after_ready(lay: paths.Layout) -> None:
    """node.up hook, once the node is Ready: the two loopback registries
    (reachable from the board at the same address), the board's sshd, then
    ``k3s server`` (first start: stage and apply the manifests)."""
    from testbed import node, ssh, upstream

    build_helm_controller()
    upstream.up(lay)
    for port in (upstream.upstream(lay).port, upstream.registry(lay).port):
        node.forward_host_port(port, root=lay.root)
    ssh.up(lay)
    state = start_service(lay, restart=False)
    if state != "active":
        raise node.BedError(f"k3s stand-in did not start ({state}); see {lay.logs / 'k3s.log'}")
