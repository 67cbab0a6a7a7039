"""``archport collect``: save a node's facts as a redacted dump for a bug report."""

from __future__ import annotations

import re
from pathlib import Path

from rich.markup import escape

from ..node import collect
from ..node import facts as F
from ..errors import ArchportError, BadInput
from . import args as argtypes
from . import boards
from .cmd_doctor import add_source_options, targets


def register(sub) -> None:
    p = sub.add_parser(
        "collect", help="save what doctor reads (pods, events, logs, k3s config) as a redacted dump",
        description="Run doctor's fact commands locally or over SSH and write their output to DIR or "
                    "FILE.tar.gz. Registry passwords, tokens and kubeconfig keys are redacted.",
    )
    add_source_options(p)
    p.add_argument("--out", required=True, metavar="DIR|FILE.tar.gz", type=argtypes.new_path,
                   help="where to write the dump (its parent directory must exist); with several boards, a "
                        "directory that gets one BOARD.tar.gz per board, named after the board")
    p.set_defaults(run=run)


def run(args, ctx) -> int:
    found = targets(args)
    if Path(args.out).exists() and not Path(args.out).is_dir():   # before any work; never overwritten
        raise BadInput(f"--out {args.out}: exists and is a file; give a new name or an empty directory")
    if len(found) == 1:
        doc = _one(args, ctx, found[0], args.out)
        if ctx.json:
            ctx.emit(doc)
        return 0
    outs = dump_paths(args.out, [b.name for b in found])
    docs, rc = [], 0
    for b, out in zip(found, outs):
        try:
            docs.append({"board": b.name, **_one(args, ctx, b, out)})
        except ArchportError as e:
            if isinstance(e, BadInput):
                raise
            rc = 1
            docs.append({"board": b.name, "error": str(e)})
            if not ctx.json:
                ctx.console.print(f"{escape(b.name)}: not collected: {escape(str(e))}", highlight=False)
    if ctx.json:
        ctx.emit({"out": str(args.out), "boards": docs})
    return rc


def _one(args, ctx, board, out) -> dict:
    conn = boards.connect(args, board)
    raw = collect.gather(conn, args.root, args.journal_lines)
    if not any(r.ok for r in raw.values()):
        raise ArchportError(f"{conn.name}: none of the facts could be read (is this a k3s node?)")
    out = collect.write(raw, out, conn.name)
    missing = sorted(k for k, r in raw.items() if r.rc != 0)
    if not ctx.json:
        ctx.console.print(f"wrote {escape(str(out))} ({len(raw) - len(missing)} facts"
                          + (f"; not available: {', '.join(F.label(m) for m in missing)}" if missing else "") + ")", highlight=False)
    board = F.parse({k: r for k, r in raw.items() if k in ("uname", "mmu", "cpu", "kernel")}).hardware()
    return {"out": str(out), "source": conn.name, "facts": sorted(raw), "missing": missing, "node": board}


def dump_paths(out: str, names: list[str]) -> list[Path]:
    """Several boards: ``out`` is a directory (made here, its parent must
    exist) holding one ``NAME.tar.gz`` per board, named after the board."""
    d = Path(out)
    if d.name.endswith((".tar.gz", ".tgz")) or (d.exists() and not d.is_dir()):
        raise BadInput(f"--out {out}: several boards make one dump each; give a directory")
    if d.exists() and any(d.iterdir()):
        raise BadInput(f"--out {out}: exists and is not empty")
    d.mkdir(exist_ok=True)
    paths: list[Path] = []
    for name in names:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "board"
        p, n = d / f"{stem}.tar.gz", 2
        while p in paths:
            p, n = d / f"{stem}-{n}.tar.gz", n + 1
        paths.append(p)
    return paths
