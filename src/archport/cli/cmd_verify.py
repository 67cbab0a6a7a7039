"""``archport verify``: prove a k3s node is healthy by using it (nodes, system
pods, cluster DNS, local-path storage, the metrics API, traefik via ServiceLB)."""

from __future__ import annotations

import os
import shlex
import shutil

from rich.markup import escape

from ..errors import ArchportError, BadInput, MissingDependency
from ..reference import parse as parse_reference
from ..remote import Local, Unreachable
from ..verify import Kubectl, Options, verify
from . import args as argtypes
from .render import Notes, table
from . import boards as board_options


def register(sub) -> None:
    p = sub.add_parser(
        "verify", help="prove a k3s node is healthy: nodes, system pods, DNS, storage, metrics, ingress",
        description="Run named checks in order, each with its own time limit and the evidence it saw; the "
                    "check pods run in their own namespace, deleted afterwards unless --keep. Exit 0 every "
                    "check passed, 1 a check failed or there is no k3s or cluster to check, 2 bad input.",
    )
    board_options.add_options(p, fleet_help="a k3s server board over SSH; verify runs k3s kubectl there")
    p.add_argument("--kubeconfig", metavar="FILE", type=argtypes.kubeconfig,
                   help="reach the cluster with a local kubectl and this kubeconfig instead of SSH")
    p.add_argument("--timeout", type=argtypes.seconds, default=180, metavar="S",
                   help="how long each check may take to pass (default 180)")
    p.add_argument("--keep", action="store_true", help="keep the archport-verify namespace and its pods")
    p.add_argument("--image", metavar="REF",
                   help="the image for the check pods (default: the node's local-path helper image, busybox)")
    p.set_defaults(run=run)


def run(args, ctx) -> int:
    targets = board_options.boards(args, required=not args.kubeconfig)
    if args.kubeconfig and targets:
        raise BadInput("--kubeconfig and --host/--inventory reach the cluster two ways; give one")
    if args.image:
        parse_reference(args.image)
    opts = Options(timeout=args.timeout, keep=args.keep, image=args.image or "")
    if args.kubeconfig:
        if not shutil.which("kubectl"):
            raise MissingDependency("--kubeconfig needs kubectl on this machine's PATH (or use --host)")
        clients = [("kubeconfig:" + args.kubeconfig,
                    Kubectl(Local(), f"kubectl --kubeconfig {shlex.quote(os.path.abspath(args.kubeconfig))}",
                            on_node=False, name=args.kubeconfig))]
    else:
        clients = [(b.name, Kubectl(board_options.connect(args, b), name=b.name)) for b in targets]
    progress = (lambda m: ctx.err.print(f"[dim]{escape(m)}[/]", highlight=False)) if ctx.interactive else None
    rows = []
    for name, k in clients:
        try:
            checks = verify(k, opts, progress=progress)
            rows.append({"board": name, "ok": all(c.ok for c in checks), "checks": [c.to_dict() for c in checks]})
        except ArchportError as e:
            # One board: bad input, or a board that is no k3s node, is the one line to say.
            if len(clients) == 1 and isinstance(e, (BadInput, Unreachable)):
                raise
            rows.append({"board": name, "ok": False, "checks": [], "error": str(e)})
    ok = all(r["ok"] for r in rows)
    if ctx.json:
        ctx.emit({"ok": ok, "boards": rows})
    else:
        for r in rows:
            _render(r, ctx.console)
        if len(rows) > 1:
            show_boards(rows, ctx.console)
    return 0 if ok else 1


def show_boards(rows: list[dict], console) -> None:
    # An error is a numbered note under the table: cells stay short at 80 columns.
    notes = Notes()
    t = table("board", "result", "failed checks", wide=("board", "failed checks"), title="boards")
    for r in rows:
        failed = [c["name"] for c in r["checks"] if not c["ok"]]
        mark = notes.mark(r.get("error") or "")
        t.add_row(escape(r["board"]), ("ok" if r["ok"] else "failed") + (f" {mark}" if mark else ""),
                  escape(", ".join(failed)))
    console.print(t)
    notes.print(console)


def _render(row: dict, console) -> None:
    t = table("check", "result", "time", right=("time",), title=f"verify {escape(row['board'])}")
    for c in row["checks"]:
        result = "skipped" if c.get("skipped") else ("ok" if c["ok"] else "FAILED")
        t.add_row(c["name"], result, f"{c['seconds']:.0f}s")
    console.print(t)
    if row.get("error"):
        console.print(f"  error: {escape(row['error'])}", highlight=False)
    for c in row["checks"]:
        if c.get("skipped"):
            console.print(f"  {c['name']}: not run: {escape(c['skipped'])}", highlight=False)
        elif not c["ok"]:
            console.print(f"  {c['name']}: {escape(c.get('reason') or 'failed')}", highlight=False)
        for line in c["evidence"][:8]:
            console.print(f"    {escape(line)}", highlight=False, soft_wrap=True)
