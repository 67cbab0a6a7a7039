"""``archport collect``: save a node's facts as a redacted dump for a bug report."""

from __future__ import annotations

from ..node import collect
from ..errors import BadInput
from . import args as argtypes
from .cmd_doctor import add_source_options, connector


def register(sub) -> None:
    p = sub.add_parser(
        "collect", help="save what doctor reads (pods, events, logs, k3s config) as a redacted dump",
        description="Run doctor's fact commands locally or over SSH and write their output to DIR or "
                    "FILE.tar.gz. Registry passwords, tokens and kubeconfig keys are redacted.",
    )
    add_source_options(p)
    p.add_argument("--out", required=True, metavar="DIR|FILE.tar.gz", type=argtypes.new_path,
                   help="where to write the dump (its directory must exist)")
    p.set_defaults(run=run)


def run(args, ctx) -> int:
    conn = connector(args)
    raw = collect.gather(conn, args.root, args.journal_lines)
    if not any(r.ok for r in raw.values()):
        raise BadInput(f"{conn.name}: none of the facts could be read (is this a k3s node?)")
    out = collect.write(raw, args.out, conn.name)
    missing = sorted(k for k, r in raw.items() if r.rc != 0)
    if ctx.json:
        ctx.emit({"out": str(out), "source": conn.name, "facts": sorted(raw), "missing": missing})
    else:
        ctx.console.print(f"wrote {out} ({len(raw) - len(missing)} facts"
                          + (f"; not available: {', '.join(missing)}" if missing else "") + ")")
    return 0
