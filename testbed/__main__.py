"""``python -m testbed up|down|purge|status|env|build`` (scripts/testbed.sh wraps it)."""
from __future__ import annotations

import argparse
import shlex
import sys

from testbed import build, k3s, node, paths, ssh


def env_lines(lay: paths.Layout) -> list[str]:
    p = paths.PORTS
    pairs = {
        "KUBECONFIG": str(lay.kubeconfig),
        "TESTBED_DIR": str(lay.root),
        "CONTAINERD_ADDRESS": str(lay.containerd_socket),
        "BOARD_SSH": f"root@127.0.0.1:{p.ssh}",
        "UPSTREAM": f"127.0.0.1:{p.upstream}",
        "REGISTRY": f"127.0.0.1:{p.registry}",
    }
    pairs.update(ssh.env(lay))     # BOARD_SSH_KEY, BOARD_KNOWN_HOSTS, and KUBECONFIG again
    # export: tools run after `eval` see them too.
    return [f"export {k}={shlex.quote(v)}" for k, v in pairs.items()]


DISABLE_FILE = "00-testbed-disable.yaml"


def write_disable(lay: paths.Layout, names: list[str]) -> None:
    """The board's k3s ``disable`` list as ``up --disable`` gave it (none: no file)."""
    f = lay.etc_k3s / "config.yaml.d" / DISABLE_FILE
    if not names:
        f.unlink(missing_ok=True)
        return
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text("disable:\n" + "".join(f"- {n}\n" for n in names))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="testbed", description=__doc__)
    ap.add_argument("command", choices=["up", "down", "purge", "status", "env", "build"],
                    help="purge: down, then forget the node's state (datastore, images, kubelet)")
    ap.add_argument("--dir", help=f"the bed's directory (default {paths.BED})")
    ap.add_argument("--disable", action="append", default=[], metavar="NAME",
                    help="up: k3s's --disable for the board (e.g. traefik), written to its config.yaml.d; "
                         "like k3s's own flag it shapes a new node: purge first")
    a = ap.parse_args(argv)
    root = a.dir
    lay = paths.layout(root)
    try:
        if a.command == "build":
            build.ensure_all()
        elif a.command == "up":
            write_disable(lay, a.disable)
            k3s.up(root)
            # A developer's bed: test sessions leave it running when they end.
            (lay.run / "started-by-tests").unlink(missing_ok=True)
        elif a.command == "down":
            node.down(root)
        elif a.command == "purge":
            node.purge(root)
        elif a.command == "status":
            st = node.status(root)
            for name, alive in st.items():
                print(f"{name:32} {'running' if alive else 'stopped'}")
            return 0 if st and all(st.values()) else 3
        elif a.command == "env":
            print("\n".join(env_lines(lay)))
    except (node.BedError, build.BuildError) as e:
        print(f"testbed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
