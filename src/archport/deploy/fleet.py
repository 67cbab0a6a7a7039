"""Many boards: plan them all, then apply them all, ``parallel`` at a time.

One board's failure never stops the others: each board ends as one
:class:`Row` (planned / changed / unchanged / failed, with the reason).
``connect`` builds the connector for a board; the caller (the CLI) decides
how (ssh options, keys: :func:`archport.node.boards.connect`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Callable

from ..errors import ArchportError, BadInput
from ..node.boards import Board
from ..remote import Connector
from .apply import Outcome, apply as apply_plan
from . import facts as _facts
from . import kernel as _kernel
from . import plan as _plan

# Builds the connector for a board (it may raise BadInput: a bad address).
Connect = Callable[[Board], Connector]


@dataclass(frozen=True, slots=True)
class Row:
    board: str
    status: str                  # planned | unchanged | changed | failed
    reason: str = ""
    version: str = ""
    role: str = ""
    plan: _plan.Plan | None = None
    outcome: Outcome | None = None
    facts: _facts.Facts | None = None
    bad_input: bool = False      # the board could not be reached or named (exit 2 when all are)

    def to_dict(self) -> dict:
        d = {"board": self.board, "status": self.status, "reason": self.reason,
             "k3s": self.version, "role": self.role}
        if self.plan is not None:
            d["plan"] = self.plan.to_dict()
        if self.facts is not None and self.facts.kernel is not None:
            d["kernel"] = self.facts.kernel.to_dict()
        if self.outcome is not None:
            d.update(restarted=self.outcome.restarted, backups=list(self.outcome.backups),
                     deletedPods=list(self.outcome.deleted_pods), rolledBack=self.outcome.rolled_back)
        return d


def _summary(plan: _plan.Plan) -> str:
    if plan.refusals:
        return "refused: " + "; ".join(plan.refusals)
    if not plan.changed:
        return "nothing to change"
    what = [c.path.rsplit("/", 1)[-1] for c in plan.changes] + [u.path.rsplit("/", 1)[-1] for u in plan.uploads]
    return "would change " + ", ".join(what) + ("; restart k3s" if plan.restart else "")


def plan_one(board: Board, connect: Connect, desired: _plan.Desired, root: str = "") -> Row:
    try:
        conn = connect(board)
        facts = _facts.gather(conn, root, desired.airgap.name if desired.airgap else None)
        plan = _kernel.apply(_plan.make(facts, desired), facts.kernel, desired.force)
    except BadInput as e:
        return Row(board.name, "failed", str(e), bad_input=True)
    except ArchportError as e:
        return Row(board.name, "failed", str(e))
    status = "failed" if plan.refusals else ("planned" if plan.changed else "unchanged")
    return Row(board.name, status, _summary(plan), str(facts.version or "?"), facts.role, plan, facts=facts)


def apply_one(row: Row, board: Board, connect: Connect, *, root: str = "", timeout: float = 300,
              restart_pods: bool = False, progress: Callable[[str, str], None] | None = None,
              poll: float = 2.0, stop=None) -> Row:
    if row.status == "failed" or row.plan is None or row.facts is None:
        return row
    say = (lambda m: progress(board.name, m)) if progress else None
    try:
        out = apply_plan(connect(board), row.facts, row.plan, root=root, timeout=timeout,
                           restart_pods=restart_pods, progress=say, poll=poll, stop=stop)
    except BadInput as e:
        return replace(row, status="failed", reason=str(e), bad_input=True)
    except ArchportError as e:
        return replace(row, status="failed", reason=str(e))
    reason = out.reason
    if out.deleted_pods:
        reason += f"; deleted {len(out.deleted_pods)} pods stuck pulling"
    return replace(row, status=out.status, reason=reason, outcome=out)


def _each(items, fn, parallel: int):
    if parallel <= 1 or len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(parallel, len(items))) as pool:
        return list(pool.map(fn, items))


def plan_all(boards: list[Board], connect: Connect, desired: _plan.Desired, *, root: str = "",
             parallel: int = 4) -> list[Row]:
    return _each(boards, lambda b: plan_one(b, connect, desired, root), parallel)


def apply_all(rows: list[Row], boards: list[Board], connect: Connect, *, parallel: int = 4, **kw) -> list[Row]:
    return _each(list(zip(rows, boards)), lambda rb: apply_one(rb[0], rb[1], connect, **kw), parallel)
