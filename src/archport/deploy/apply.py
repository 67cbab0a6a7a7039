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

An interruption (Ctrl-C, or SIGTERM, which the CLI turns into the same
``KeyboardInterrupt``) is handled like a failure: what was written is
rolled back and the outcome says so.  If the rollback is interrupted in
turn, the outcome says exactly which files are still archport's, which are
back, and the commands that finish the job.

A file that is a symbolic link (``registries.yaml`` kept elsewhere, say)
stays one: its target is backed up and replaced, atomically, not the link.
"""

from __future__ import annotations

import json
import logging
import posixpath
import shlex
import threading
import time
from dataclasses import dataclass, field
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
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class Stop:
    """An interruption reaching boards applied in other threads (a signal
    reaches only the main thread): ``cancel`` stops each board's change at
    its next command and rolls it back; ``abandon`` stops the rollbacks too."""

    cancel: threading.Event = field(default_factory=threading.Event)
    abandon: threading.Event = field(default_factory=threading.Event)


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
                 stamp: str | None = None, stop: Stop | None = None) -> None:
        self.conn, self.facts, self.root = conn, facts, root.rstrip("/")
        self.stop, self.rolling_back = stop, False
        self.timeout, self.poll = timeout, poll
        self.progress = progress or (lambda _m: None)
        self.stamp = stamp or datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        # (machine path written, its backup or None when we created it), in order
        self.done: list[tuple[str, str | None]] = []
        self.restarted = False
        self.stage = "before writing anything"

    def _p(self, path: str) -> str:
        return self.root + path

    def _check(self) -> None:
        if self.stop is not None and (self.stop.abandon if self.rolling_back else self.stop.cancel).is_set():
            raise KeyboardInterrupt

    def _run(self, command: str, timeout: float = 120) -> Result:
        self._check()
        # Commands never carry file contents (those go through stdin): safe to log.
        log.debug("%s: %s", self.conn.name, command)
        return self.conn.run(command, timeout=timeout)

    def _sh(self, command: str, what: str, timeout: float = 120) -> str:
        r = self._run(command, timeout=timeout)
        if r.rc != 0:
            lines = (r.stderr or r.stdout).strip().splitlines()
            raise _Failed(f"{what}: {lines[-1] if lines else f'exit {r.rc}'}"[:400])
        return r.stdout

    def _target(self, path: str) -> str:
        """Where ``path``'s bytes live: the link's target for a symbolic link."""
        p = shlex.quote(self._p(path))
        out = self._sh(f"if [ -L {p} ]; then readlink -f {p}; fi", f"cannot read {path}").strip()
        return out or self._p(path)

    def _backup(self, path: str, existed: bool) -> str:
        """Back up ``path`` (when it exists); the machine path to write."""
        p = self._target(path) if existed else self._p(path)
        self._sh(f"mkdir -p {shlex.quote(posixpath.dirname(p))}", f"cannot create {posixpath.dirname(path)}")
        backup = None
        if existed:
            backup = f"{p}.archport-{self.stamp}"
            self._sh(f"cp -p {shlex.quote(p)} {shlex.quote(backup)}", f"cannot back up {path}")
        self.done.append((p, backup))
        return p

    def backups(self) -> tuple[str, ...]:
        """The backups made, as board paths."""
        n = len(self.root)
        return tuple(b[n:] if self.root and b.startswith(self.root + "/") else b for _p, b in self.done if b)

    def write(self, plan: Plan) -> None:
        self.stage = "while writing the files"
        for c in plan.changes:
            self.progress(f"writing {c.path}")
            target = self._backup(c.path, c.before is not None)
            self._check()
            self.conn.put(c.after, target, c.mode)
        for u in plan.uploads:
            self.progress(f"copying {posixpath.basename(u.path)} ({u.size} bytes)")
            r = self._run(f"test -e {shlex.quote(self._p(u.path))}")
            self.conn.put_file(u.local, self._backup(u.path, r.rc == 0), 0o644)
            out = self._sh(f"sha256sum {shlex.quote(self._p(u.path))}", f"cannot checksum {u.path}")
            got = out.split()[0] if out.split() else ""
            if got != u.sha256:
                raise _Failed(f"{u.path}: sha256 on the board is {got or 'unreadable'}, expected {u.sha256}")

    def restart(self) -> None:
        cmd = restart_command(self.facts)
        self.restarted = True
        self.stage = "during the k3s restart"
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
        self.stage = "while waiting for the node to be Ready"
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
        self.rolling_back = True
        while self.done:
            path, backup = self.done[-1]
            self._run(_undo(path, backup) + f"; rm -f {shlex.quote(path + '.archport-tmp')}")
            self.done.pop()
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


def _undo(path: str, backup: str | None) -> str:
    p = shlex.quote(path)
    if not backup:
        return f"rm -f {p}"
    b, t = shlex.quote(backup), shlex.quote(path + ".archport-tmp")
    return f"cp -p {b} {t} && mv -f {t} {p} && rm -f {b}"


def _left(a: Applier) -> str:
    """The board's state when a rollback was itself interrupted, and the
    commands that restore it (run on the board, as root)."""
    restart = restart_command(a.facts)
    if not a.done:
        return (f"the rollback was interrupted while k3s restarted: every file is back as it was, but "
                f"{a.facts.service} may not be running; to finish, run: {restart}")
    still = ", ".join(p for p, _b in a.done)
    steps = "; ".join(_undo(p, b) for p, b in reversed(a.done))
    return (f"the rollback was interrupted: {still} still hold archport's change"
            + ("" if not a.restarted else f" and k3s may be running with {'them' if len(a.done) > 1 else 'it'}")
            + f"; to restore, run: {steps}; {restart}")


def _interrupted(a: Applier) -> Outcome:
    """An interruption: roll back, unless a second one stops that too."""
    stage = a.stage
    if not a.done and not a.restarted:
        return Outcome("failed", f"interrupted {stage}; nothing was written", interrupted=True)
    try:
        undo = a.rollback()
    except KeyboardInterrupt:
        return Outcome("failed", f"interrupted {stage}; {_left(a)}", restarted=a.restarted, interrupted=True)
    except ArchportError as again:
        undo = f"the rollback did not finish either ({again}); {_left(a)}"
    return Outcome("failed", f"interrupted {stage}; {undo}", restarted=a.restarted, rolled_back=True,
                   interrupted=True)


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
          stop: Stop | None = None) -> Outcome:
    """Carry out ``plan`` on the board behind ``conn``."""
    if plan.refusals:
        return Outcome("failed", "; ".join(plan.refusals))
    a = Applier(conn, facts, root, timeout, progress, poll, stop=stop)
    if not plan.changed:
        deleted = a.restart_pods() if restart_pods else ()
        return Outcome("unchanged", "nothing to change", deleted_pods=deleted)
    what = ", ".join(posixpath.basename(p) for p in [c.path for c in plan.changes] + [u.path for u in plan.uploads])
    try:
        a.write(plan)
        backups = a.backups()
        if plan.restart:
            a.restart()
    except KeyboardInterrupt:
        return _interrupted(a)
    except (_Failed, ArchportError) as e:
        reason = e.reason if isinstance(e, _Failed) else str(e)
        try:
            undo = a.rollback() if a.done else "nothing was written"
        except ArchportError as again:      # e.g. the board dropped off the network mid-way
            undo = f"the rollback did not finish either ({again}); {_left(a)}"
        except KeyboardInterrupt:
            return Outcome("failed", f"{culprit(plan, reason)}: {reason}; {_left(a)}", restarted=plan.restart,
                           interrupted=True)
        return Outcome("failed", f"{culprit(plan, reason)}: {reason}; {undo}", restarted=plan.restart,
                       rolled_back=True)
    deleted = a.restart_pods() if restart_pods else ()
    return Outcome("changed", f"changed {what}" + ("; k3s restarted, node Ready" if plan.restart else ""),
                   plan.restart, backups, deleted)
