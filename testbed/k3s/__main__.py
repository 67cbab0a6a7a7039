"""The commands a login on the board finds on PATH, as small shims over
``python -m testbed.k3s TOOL ARGS`` (see :mod:`testbed.ssh`):

* ``k3s --version`` / ``k3s -v`` / ``k3s version``; ``k3s kubectl|crictl|ctr
  ARGS`` (k3s's multi-call subcommands); ``k3s server`` (the service's main
  process: one start, then the deploy controller's 15 s loop);
* ``systemctl start|stop|restart|status k3s``;
* ``journalctl -u k3s [-n N] [--no-pager] [-q]``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time

from testbed import paths

from . import journal
from .version import STANDIN_NOTE, version_text


def _exec(argv: list[str], env: dict | None = None) -> None:
    os.execvpe(argv[0], argv, env or dict(os.environ))


def k3s(args: list[str]) -> int:
    from . import bed, server
    if not args or args[0] in ("-v", "--version", "version"):
        sys.stdout.write(version_text())
        return 0
    cmd, rest = args[0], args[1:]
    lay = paths.layout()
    if cmd == "kubectl":
        # k3s kubectl reads /etc/rancher/k3s/k3s.yaml unless KUBECONFIG is set (pkg/kubectl/main.go).
        env = dict(os.environ)
        env.setdefault("KUBECONFIG", str(lay.kubeconfig))
        _exec([bed.tool("kubectl", "kubectl"), *rest], env)
    if cmd == "crictl":
        env = dict(os.environ)   # k3s crictl points at its containerd socket (pkg/crictl)
        env.setdefault("CONTAINER_RUNTIME_ENDPOINT", f"unix://{lay.containerd_socket}")
        env.setdefault("IMAGE_SERVICE_ENDPOINT", f"unix://{lay.containerd_socket}")
        _exec([bed.tool("crictl", "crictl"), *rest], env)
    if cmd == "ctr":
        env = dict(os.environ)   # k3s ctr: its socket, namespace k8s.io unless set (pkg/ctr)
        env.setdefault("CONTAINERD_ADDRESS", str(lay.containerd_socket))
        env.setdefault("CONTAINERD_NAMESPACE", "k8s.io")
        _exec([bed.tool("containerd", "ctr"), *rest], env)
    if cmd == "server":
        b = bed.board(lay)
        try:
            out = server.start(b, force_restart="--restart-runtime" in rest)
        except server.StandinError as e:
            print(f"k3s: {e}", file=sys.stderr)
            return 1
        server.watch(b, out["settings"])
        return 0
    print(f"k3s: '{cmd}' is not served by the archport test-bed stand-in ({STANDIN_NOTE})", file=sys.stderr)
    return 1


def systemctl(args: list[str]) -> int:
    from testbed import node, supervise
    from . import bed
    words = [a for a in args if not a.startswith("-")]
    if len(words) < 2:
        print("systemctl (archport test bed): only start|stop|restart|status k3s", file=sys.stderr)
        return 1
    verb, unit = words[0], words[1].removesuffix(".service")
    if unit not in ("k3s",):
        print(f"Unit {unit}.service could not be found.", file=sys.stderr)
        return 4
    lay = paths.layout()
    if verb in ("start", "restart"):
        st = bed.start_service(lay, restart=verb == "restart")
        if st == "active":
            return 0
        if st == "failed":
            print("Job for k3s.service failed because the control process exited with error code.\n"
                  'See "systemctl status k3s.service" and "journalctl -xeu k3s.service" for details.',
                  file=sys.stderr)
        else:
            print("Job for k3s.service timed out.", file=sys.stderr)
        return 1
    if verb == "stop":
        node.stop_service(bed.SERVICE, root=lay.root)
        st = bed.state(lay)
        (lay.run / "k3s-standin.json").write_text(json.dumps({**st, "active": "inactive", "since": time.time()}))
        return 0
    if verb in ("status", "is-active"):
        st = bed.state(lay)
        pid = supervise.pid(lay, bed.SERVICE)
        active = st.get("active", "inactive")
        if active == "active" and not pid:
            active = "failed"
        if verb == "is-active":
            print(active)
            return 0 if active == "active" else 3
        since = dt.datetime.fromtimestamp(st.get("since", time.time()), dt.timezone.utc)
        sub = {"active": "running", "activating": "start", "failed": "Result: exit-code"}.get(active, "dead")
        print("● k3s.service - Lightweight Kubernetes (archport test-bed stand-in)")
        print("     Loaded: loaded (/etc/systemd/system/k3s.service; enabled; vendor preset: enabled)")
        print(f"     Active: {active} ({sub}) since {since.strftime('%a %Y-%m-%d %H:%M:%S UTC')}")
        if pid:
            print(f"   Main PID: {pid} (k3s)")
        if st.get("error"):
            print(f"      Error: {st['error']}")
        print()
        journal.main(["-n", "10"], bed.log_files(lay), paths.NODE_NAME, pid or 0)
        return 0 if active == "active" else 3
    print(f"systemctl (archport test bed): '{verb}' is not served", file=sys.stderr)
    return 1


def journalctl(args: list[str]) -> int:
    from testbed import supervise
    from . import bed
    lay = paths.layout()
    return journal.main(args, bed.log_files(lay), paths.NODE_NAME, supervise.pid(lay, bed.SERVICE) or 0)


def main(argv: list[str]) -> int:
    tool, args = (argv[0], argv[1:]) if argv else ("k3s", [])
    return {"k3s": k3s, "systemctl": systemctl, "journalctl": journalctl}.get(tool, k3s)(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
