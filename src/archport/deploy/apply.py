"""Apply a plan to one board, and undo it when k3s does not come back.

Every file goes to a temporary name beside its target and is renamed over
it (rename(2) is atomic on one file system: k3s never reads half a file);
the file it replaces is first copied to ``<file>.archport-<UTC time>`` next
to it.  k3s reads these files only at start, so it is then restarted
through the board's init system (``k3s`` on servers, ``k3s-agent`` on
agents) and deploy waits for the node to report Ready.

When the restart fails, or the node is not Ready within the timeout, the
backups are restored (files we created are removed), k3s is restarted
again, and the outcome says which changes were undone: a restart that
fails is never left behind.
"""

from __future__ import annotations

import json
import logging
import posixpath
import shlex
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from ..errors import ArchportError
from ..node import collect
from ..node import facts as node_facts
from ..node import kube
from ..remote import Connector, Result
from .facts import Facts
from .plan import Plan, mask

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str                          # changed | unchanged | failed
    reason: str = ""
    restarted: bool = False
    backups: tuple[str, ...] = ()
    deleted_pods: tuple[str, ...] = ()
    rolled_back: bool = False


class _Failed(ArchportError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def restart_command(facts: Facts) -> str:
    if facts.init == "openrc":
        return f"rc-service {facts.service} restart"
    return f"systemctl restart {facts.service}"


def node_ready(text: str, hostname: str) -> bool | None:
    """Ready condition of this board's node in ``kubectl get nodes -o json``
    (the node named like the host, or the only node); None when absent."""
    try:
        nodes = [kube.parse_node(n) for n in json.loads(text).get("items") or () if isinstance(n, dict)]
    except (ValueError, AttributeError):
        return None
    mine = [n for n in nodes if n.name == hostname] or (nodes if len(nodes) == 1 else [])
    return mine[0].ready if mine else None


class Applier:
    def __init__(self, conn: Connector, facts: Facts, root: str = "", timeout: float = 300,
                 progress: Callable[[str], None] | None = None, poll: float = 2.0,
                 stamp: str | None = None) -> None:
        self.conn, self.facts, self.root = conn, facts, root.rstrip("/")
        self.timeout, self.poll = timeout, poll
        self.progress = progress or (lambda _m: None)
        self.stamp = stamp or datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.done: list[tuple[str, str | None]] = []      # (board path, backup path or None)
        self.restarted = False

    def _p(self, path: str) -> str:
        return self.root + path

    def _run(self, command: str, timeout: float = 120) -> Result:
        # Commands never carry file contents (those go through stdin): safe to log.
        log.debug("%s: %s", self.conn.name, command)
        return self.conn.run(command, timeout=timeout)

    def _sh(self, command: str, what: str, timeout: float = 120) -> str:
        r = self._run(command, timeout=timeout)
        if r.rc != 0:
            lines = (r.stderr or r.stdout).strip().splitlines()
            raise _Failed(f"{what}: {lines[-1] if lines else f'exit {r.rc}'}"[:400])
        return r.stdout

    def _backup(self, path: str, existed: bool) -> None:
        p = self._p(path)
        self._sh(f"mkdir -p {shlex.quote(posixpath.dirname(p))}", f"cannot create {posixpath.dirname(path)}")
        backup = None
        if existed:
            backup = f"{path}.archport-{self.stamp}"
            self._sh(f"cp -p {shlex.quote(p)} {shlex.quote(self._p(backup))}", f"cannot back up {path}")
        self.done.append((path, backup))

    def write(self, plan: Plan) -> None:
        for c in plan.changes:
            self.progress(f"writing {c.path}")
            self._backup(c.path, c.before is not None)
            self.conn.put(c.after, self._p(c.path), c.mode)
        for u in plan.uploads:
            self.progress(f"copying {posixpath.basename(u.path)} ({u.size} bytes)")
            r = self._run(f"test -e {shlex.quote(self._p(u.path))}")
            self._backup(u.path, r.rc == 0)
            self.conn.put_file(u.local, self._p(u.path), 0o644)
            out = self._sh(f"sha256sum {shlex.quote(self._p(u.path))}", f"cannot checksum {u.path}")
            got = out.split()[0] if out.split() else ""
            if got != u.sha256:
                raise _Failed(f"{u.path}: sha256 on the board is {got or 'unreadable'}, expected {u.sha256}")

    def restart(self) -> None:
        cmd = restart_command(self.facts)
        self.restarted = True
        self.progress(f"restarting {self.facts.service} ({cmd})")
        r = self._run(cmd, timeout=self.timeout + 60)
        if r.rc != 0:
            detail = (r.stderr or r.stdout).strip().splitlines()
            raise _Failed(f"{self.facts.service} did not start ({cmd}: exit {r.rc}"
                          + (f": {detail[-1]}" if detail else "") + ")" + self._why_not_started())
        self.wait_ready()

    def _why_not_started(self) -> str:
        """The last error k3s logged, as evidence (masked: a log may hold a token)."""
        svc = self.facts.service
        logfile = shlex.quote(self._p(f"/var/log/{svc}.log"))     # OpenRC's k3s service logs there
        r = self._run(f"{{ journalctl -u {svc} -n 40 --no-pager; tail -n 40 {logfile}; }} 2>/dev/null")
        errors = [ln for ln in r.stdout.splitlines() if "level=fatal" in ln or "level=error" in ln]
        return f"; k3s logged: {mask(errors[-1].strip())[:300]}" if errors else ""

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.timeout
        last = "no answer"
        while True:
            r = self._run("k3s kubectl get nodes -o json", timeout=60)
            if r.rc == 0:
                ready = node_ready(r.stdout, self.facts.hostname)
                if ready:
                    return
                last = "NotReady" if ready is False else f"node {self.facts.hostname} not registered"
            elif self.facts.role == "agent":
                # An agent has no kubeconfig of its own: its service being active is all we can see.
                probe = ("systemctl is-active --quiet k3s-agent" if self.facts.init != "openrc"
                         else "rc-service k3s-agent status")
                if self._run(probe).rc == 0:
                    return
                last = "k3s-agent is not active"
            else:
                last = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["kubectl failed"]
                last = last[0]
            if time.monotonic() >= deadline:
                raise _Failed(f"the node was not Ready within {self.timeout:g}s ({last})")
            time.sleep(self.poll)

    def rollback(self) -> str:
        """Undo every write, newest first; restart; say how it went."""
        for path, backup in reversed(self.done):
            p = shlex.quote(self._p(path))
            if backup:
                b, t = shlex.quote(self._p(backup)), shlex.quote(self._p(path) + ".archport-tmp")
                self._run(f"cp -p {b} {t} && mv -f {t} {p} && rm -f {b}")
            else:
                self._run(f"rm -f {p}")
        self.done.clear()
        if not self.restarted:
            return "rolled back before any restart"
        try:
            self.restart()
        except _Failed as e:
            return f"rolled back, but k3s still does not come back: {e.reason}"
        return "rolled back; k3s is running again with the previous files"

    def restart_pods(self) -> tuple[str, ...]:
        got, _ = node_facts.values({"system_pods": collect.run_one(self.conn, "system_pods")}, ("system_pods",))
        # After a restart that changed where images come from, a pod still
        # waiting for its sandbox is most likely waiting for the pause image.
        names = [p.name for p in got.get("system_pods", ()) if p.pull_failing or (self.restarted and p.creating)]
        if names:
            self.progress(f"deleting {len(names)} kube-system pods stuck pulling: {', '.join(names)}")
            r = self._run("k3s kubectl delete pod -n kube-system --wait=false " + " ".join(map(shlex.quote, names)))
            if r.rc != 0:       # a pod may be gone already; the others were still deleted
                log.debug("%s: kubectl delete: %s", self.conn.name, r.stderr.strip())
        return tuple(names)


def culprit(plan: Plan, reason: str) -> str:
    """Which change broke k3s: the only one, or the one k3s's own error names;
    otherwise all of them (telling them apart would take a restart each)."""
    paths = [c.path for c in plan.changes] + [u.path for u in plan.uploads]
    names = [posixpath.basename(p) for p in paths]
    named = [n for n in names if n in reason]
    if len(names) == 1:
        return f"the change to {names[0]} broke it"
    if len(named) == 1:
        return f"the change to {named[0]} broke it (k3s's error names it)"
    return "one of the changes to " + ", ".join(names) + " broke it"


def apply(conn: Connector, facts: Facts, plan: Plan, *, root: str = "", timeout: float = 300,
          restart_pods: bool = False, progress: Callable[[str], None] | None = None, poll: float = 2.0,
          stamp: str | None = None) -> Outcome:
    """Carry out ``plan`` on the board behind ``conn``."""
    if plan.refusals:
        return Outcome("failed", "; ".join(plan.refusals))
    a = Applier(conn, facts, root, timeout, progress, poll, stamp)
    if not plan.changed:
        deleted = a.restart_pods() if restart_pods else ()
        return Outcome("unchanged", "nothing to change", deleted_pods=deleted)
    what = ", ".join(posixpath.basename(p) for p in [c.path for c in plan.changes] + [u.path for u in plan.uploads])
    try:
        a.write(plan)
        backups = tuple(b for _p, b in a.done if b)
        if plan.restart:
            a.restart()
    except (_Failed, ArchportError) as e:
        reason = e.reason if isinstance(e, _Failed) else str(e)
        try:
            undo = a.rollback() if a.done else "nothing was written"
        except ArchportError as again:      # e.g. the board dropped off the network mid-way
            undo = f"the rollback did not finish either ({again}); backups are beside each file"
        return Outcome("failed", f"{culprit(plan, reason)}: {reason}; {undo}", restarted=plan.restart,
                       rolled_back=True)
    deleted = a.restart_pods() if restart_pods else ()
    return Outcome("changed", f"changed {what}" + ("; k3s restarted, node Ready" if plan.restart else ""),
                   plan.restart, backups, deleted)
