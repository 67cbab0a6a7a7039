"""``archport deploy``: configure k3s boards to run the ported images, the
k3s-native way (registries.yaml, a config.yaml.d drop-in, agent/images/),
with a plan shown as diffs, backups, rollback and idempotence."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

from rich.markup import escape

from ..deploy import fleet, inputs
from ..deploy.apply import Stop
from ..deploy.plan import Desired
from ..errors import ArchportError, BadInput
from ..node.boards import Board
from ..reference import is_loopback_host
from ..reference import parse as parse_reference
from ..remote import Connector
from . import args as argtypes
from . import boards as board_options
from .render import Notes, plural, table


def register(sub) -> None:
    p = sub.add_parser(
        "deploy", help="configure k3s boards to pull the ported images (registries.yaml, drop-in, airgap)",
        description="Read each board's k3s over SSH (this machine's with --local or --host localhost, no ssh "
                    "needed), plan the changes (shown as diffs), then write them atomically with backups, "
                    "restart k3s and wait for the node to be Ready; roll back when it is not. Exit 0 done, "
                    "1 a board failed or could not be reached, 2 bad input.",
    )
    board_options.add_options(p, fleet_help="a board over SSH")
    where = p.add_argument_group("board files")
    where.add_argument("--root", default="", metavar="DIR",
                       help="the board's files live under DIR instead of / (a mounted image or a test board)")
    what = p.add_argument_group("what to put on the boards")
    src = what.add_mutually_exclusive_group(required=True)
    src.add_argument("--registry", metavar="REG[/PREFIX]",
                     help="the registry holding the ported images; the boards mirror their upstream "
                          "registries to it (a PREFIX becomes a rewrite)")
    src.add_argument("--airgap", metavar="FILE", help="an image tarball to copy to agent/images/")
    what.add_argument("--pause-image", metavar="REF", help="the sandbox (pause) image k3s should use")
    what.add_argument("--system-default-registry", action="store_true",
                      help="also set k3s system-default-registry to --registry")
    how = p.add_argument_group("how")
    how.add_argument("--dry-run", action="store_true", help="show the plan and the diffs; change nothing")
    how.add_argument("--yes", action="store_true", help="apply without asking")
    how.add_argument("--parallel", type=argtypes.positive_int, default=4, metavar="N",
                     help="boards deployed at a time (default 4)")
    how.add_argument("--force", action="store_true",
                     help="when a later config.yaml.d drop-in of yours sets the same key, write archport's "
                          "settings to a drop-in k3s reads after it (by default deploy refuses and names the file); "
                          "and deploy to a board whose kernel lacks what k3s cannot run without (by default "
                          "deploy refuses it, one line per missing option)")
    how.add_argument("--restart-pods", action="store_true",
                     help="delete kube-system pods stuck in ImagePullBackOff/ErrImagePull so they retry now")
    how.add_argument("--timeout", type=argtypes.seconds, default=300, metavar="S",
                     help="how long k3s may take to be Ready again before the change is rolled back (default 300)")
    p.set_defaults(run=run)


def desired(args, ctx) -> Desired:
    airgap = inputs.check_airgap(args.airgap) if args.airgap else None
    if not args.registry:
        if args.system_default_registry:
            raise BadInput("--system-default-registry needs --registry")
        return Desired(pause_image=args.pause_image, airgap=airgap, restart_pods=args.restart_pods,
                       force=args.force)
    spec = inputs.parse_registry(args.registry)
    scheme = spec.scheme or ("http" if spec.host in ctx.plain_http or is_loopback_host(spec.host) else "https")
    ca = None
    if ctx.ca_file and scheme == "https":
        with open(ctx.ca_file, "rb") as f:
            ca = f.read()
    auth = None
    # Lazy: the registry client stack is needed only with --registry, not for `archport --help`.
    from ..registry.credentials import load_credentials
    docker_config = ctx.env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    cred = load_credentials(docker_config, ctx.env.get("REGISTRY_AUTH_FILE")).lookup(spec.host)
    if cred is not None:
        auth = (cred.username, cred.secret)
    sdr = (f"{spec.host}/{spec.prefix}" if spec.prefix else spec.host) if args.system_default_registry else None
    return Desired(spec.host, scheme, spec.prefix, (), ca, auth, args.pause_image, sdr, None, args.restart_pods,
                   force=args.force)


def run(args, ctx) -> int:
    targets = board_options.boards(args)
    board_options.check_root(args, targets)
    want = desired(args, ctx)
    if args.pause_image:
        parse_reference(args.pause_image)

    def connect(b: Board) -> Connector:
        return board_options.connect(args, b)

    rows = fleet.plan_all(targets, connect, want, root=args.root, parallel=args.parallel)
    if len(rows) == 1 and rows[0].bad_input:
        raise BadInput(rows[0].reason)       # one board named wrongly: one line, exit 2
    if len(rows) == 1 and rows[0].status == "failed" and rows[0].plan is None:
        raise ArchportError(rows[0].reason)  # one board that could not be read (unreachable): one line, exit 1
    if not ctx.json:
        for row in rows:
            show_plan(row, ctx.console)
    pending = any(r.status == "planned" for r in rows)
    if not args.dry_run and pending and not args.yes:
        if ctx.json or not sys.stdin.isatty():
            raise BadInput("not applied: pass --yes to apply the plan above, or --dry-run to only show it")
        answer = ctx.console.input(f"apply to {plural(sum(r.status == 'planned' for r in rows), 'board')}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise BadInput("not applied (answered no)")
    if not args.dry_run:
        lock = threading.Lock()

        def progress(board: str, message: str) -> None:
            if ctx.interactive or (ctx.debug and not ctx.json):     # a terminal, or --debug's log
                with lock:
                    ctx.err.print(f"[dim]{escape(board)}: {escape(message)}[/]", highlight=False)

        with _every_sigterm_interrupts():
            rows = apply_interruptibly(rows, targets, connect, parallel=args.parallel, root=args.root,
                                       timeout=args.timeout, restart_pods=args.restart_pods, progress=progress)
    failed = [r for r in rows if r.status == "failed"]
    if ctx.json:
        ctx.emit({"dryRun": bool(args.dry_run), "boards": [r.to_dict() for r in rows],
                  "changed": sum(r.status == "changed" for r in rows),
                  "unchanged": sum(r.status == "unchanged" for r in rows),
                  "planned": sum(r.status == "planned" for r in rows), "failed": len(failed)})
    else:
        show_table(rows, ctx.console)
    if failed and all(r.bad_input for r in rows):
        return 2
    if any(r.outcome is not None and r.outcome.interrupted for r in rows):
        return 130          # as for Ctrl-C anywhere else; the table says what was undone
    return 1 if failed else 0


def apply_interruptibly(rows, targets, connect, *, parallel: int, **kw):
    """``fleet.apply_all``, stopped cleanly by Ctrl-C or SIGTERM.  One board
    at a time runs here, where the signal interrupts its command at once;
    boards in parallel run in threads the signal cannot reach, so the first
    interruption tells them to stop and roll back, and a second to stop
    rolling back (each then says what state its board is in)."""
    if parallel <= 1 or len(rows) <= 1:
        return fleet.apply_all(rows, targets, connect, parallel=parallel, **kw)
    stop, finished = Stop(), threading.Event()
    done: dict = {}

    def work() -> None:
        try:
            done["rows"] = fleet.apply_all(rows, targets, connect, parallel=parallel, stop=stop, **kw)
        except BaseException as e:      # handed to the main thread as it is
            done["error"] = e
        finally:
            finished.set()

    threading.Thread(target=work, name="deploy-apply", daemon=True).start()
    while True:
        # An Event, not Thread.join: a join interrupted by the signal can
        # leave the thread looking finished while it still runs (CPython).
        try:
            if finished.wait(0.2):
                break
        except KeyboardInterrupt:
            (stop.abandon if stop.cancel.is_set() else stop.cancel).set()
    if "error" in done:
        raise done["error"]
    return done["rows"]


@contextlib.contextmanager
def _every_sigterm_interrupts():
    """While boards are changed, each SIGTERM interrupts like Ctrl-C: the
    first stops the change and starts its rollback, a second stops the
    rollback, and deploy still says what state each board was left in
    (the usual handler makes a second SIGTERM end the process silently)."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:          # not the main thread
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def show_plan(row: fleet.Row, console) -> None:
    if row.plan is None:
        return          # a board not read has no plan: the table below says why
    head = f"[bold]{escape(row.board)}[/]"
    if row.version:
        head += f" (k3s {escape(row.version)}, {row.role})"
    console.print(head, highlight=False)
    for c in row.plan.changes:
        console.print(f"  {'create' if c.before is None else 'change'} {escape(c.path)}: {escape(c.why)}",
                      highlight=False)
        for line in c.diff().splitlines():
            color = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            console.print(f"    [{color}]{escape(line)}[/]", highlight=False, crop=False, overflow="ignore")
    for u in row.plan.uploads:
        console.print(f"  copy {escape(u.local)} → {escape(u.path)} (sha256 {u.sha256[:12]}…, {u.size} bytes)",
                      highlight=False)
    if row.plan.restart:
        console.print("  then restart k3s and wait for the node to be Ready", highlight=False)
    for name in row.plan.restart_pods:
        console.print(f"  then delete pod kube-system/{escape(name)} (stuck pulling)", highlight=False)
    for n in row.plan.notes:
        console.print(f"  [blue]note:[/] {escape(n)}", highlight=False)
    for r in row.plan.refusals:
        console.print(f"  [red]refused:[/] {escape(r)}", highlight=False)
    if not row.plan.changed and not row.plan.refusals:
        console.print("  nothing to change", highlight=False)


def show_table(rows, console) -> None:
    # Short cells at 80 columns: each board's reason is a numbered note under the table.
    notes = Notes()
    t = table("board", "status", wide=("board",))
    colors = {"changed": "green", "unchanged": "blue", "planned": "yellow", "failed": "red"}
    for r in rows:
        mark = notes.mark(r.reason)
        t.add_row(escape(r.board), f"[{colors.get(r.status, 'white')}]{r.status}[/]" + (f" {mark}" if mark else ""))
    console.print(t)
    notes.print(console)
