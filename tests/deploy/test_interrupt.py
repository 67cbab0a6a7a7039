"""deploy against the stand-in board over a real sshd: interruptions by a real
signal, a symlinked registries.yaml, a file k3s could not read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from archport.cli.main import main
from tests.support.cli import SRC
from tests.support.cli import archport

REG = "127.0.0.1:5000"
REGISTRIES = "etc/rancher/k3s/registries.yaml"


def start(board, *extra) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen([sys.executable, "-m", "archport.cli.main", "deploy", *board.ssh_args(),
                             "--registry", REG, "--yes", "--json", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(cond, what: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_sigterm_during_the_restart_rolls_back_and_says_so(board):
    before = board.snapshot()
    board.hold_restart()
    p = start(board)
    try:
        wait_for(lambda: board.restarts() == 1, "the restart")
        board.hold_restart(False)          # the rollback's own restart may finish
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 130, err
    row = json.loads(out)["boards"][0]
    assert row["status"] == "failed" and row["rolledBack"] is True
    assert row["reason"].startswith("interrupted during the k3s restart; rolled back; k3s is running again")
    assert board.snapshot() == before and board.restarts() == 2


def test_a_second_signal_during_the_rollback_says_what_state_the_board_is_in(board):
    before = board.snapshot()
    board.hold_restart()
    p = start(board)
    try:
        wait_for(lambda: board.restarts() == 1, "the restart")
        p.send_signal(signal.SIGINT)
        wait_for(lambda: board.restarts() == 2, "the rollback's restart")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=120)
    finally:
        board.hold_restart(False)
        p.kill()
    assert p.returncode == 130, err
    reason = json.loads(out)["boards"][0]["reason"]
    assert "the rollback was interrupted while k3s restarted: every file is back as it was" in reason
    assert reason.endswith("to finish, run: systemctl restart k3s")
    assert board.snapshot() == before


def test_a_symlinked_registries_yaml_stays_a_symlink(board, capsys):
    real = board.root / "etc/rancher/k3s/real/registries.yaml"
    real.parent.mkdir(parents=True)
    real.write_text("# kept in real/\nmirrors: {}\n")
    link = board.root / REGISTRIES
    link.symlink_to("real/registries.yaml")
    rc = main(["deploy", *board.ssh_args(), "--registry", REG, "--yes", "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert link.is_symlink() and os.readlink(link) == "real/registries.yaml"
    assert "http://127.0.0.1:5000" in real.read_text()
    backups = json.loads(out.out)["boards"][0]["backups"]
    assert len(backups) == 1 and backups[0].startswith("/etc/rancher/k3s/real/registries.yaml.archport-")


def test_a_value_k3s_could_not_read_is_one_line_exit_2(board):
    board.reset(registries="mirrors:\n  docker.io:\n    endpoint: https://cache.lab.internal:5000\n")
    before = board.snapshot()
    p = archport("deploy", *board.ssh_args(), "--registry", REG, "--yes", expect=2)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "mirrors.docker.io.endpoint must be a list of URLs" in lines[0], p.stderr
    assert board.snapshot() == before and board.restarts() == 0


def test_boards_applied_in_parallel_are_rolled_back_too(board):
    """Two boards in threads (here: two plans for one stand-in board, each
    writing its own file); the signal reaches the main thread only."""
    import threading

    from archport.cli.cmd_deploy import apply_interruptibly
    from archport.deploy import fleet
    from archport.deploy.plan import Desired
    from archport.node.boards import Board, Host
    from archport.remote import SSH

    before = board.snapshot()
    s = board.server
    opts = (f"UserKnownHostsFile={s.dir / 'pinned_known_hosts'}", "IdentitiesOnly=yes", "LogLevel=ERROR")

    def connect(b):
        return SSH(f"{s.user}@127.0.0.1", opts, port=s.port, identity=str(s.key))

    boards = [Board("a", Host("127.0.0.1", s.user, s.port)), Board("b", Host("127.0.0.1", s.user, s.port))]
    rows = [fleet.plan_one(boards[0], connect, Desired(registry=REG, scheme="http"), str(board.root)),
            fleet.plan_one(boards[1], connect, Desired(pause_image=f"{REG}/rancher/mirrored-pause:3.6"),
                           str(board.root))]
    assert [r.status for r in rows] == ["planned", "planned"]
    board.hold_restart()

    def interrupt() -> None:
        wait_for(lambda: board.restarts() == 2, "both restarts")
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)
        board.hold_restart(False)

    t = threading.Thread(target=interrupt)
    t.start()
    try:
        out = apply_interruptibly(rows, boards, connect, parallel=2, root=str(board.root), timeout=30, poll=0.1)
    finally:
        t.join()
        board.hold_restart(False)
    for row in out:
        assert row.status == "failed" and row.outcome.interrupted and row.outcome.rolled_back, row.reason
        # the restart command itself runs on (a thread cannot be interrupted inside it); the next step stops
        assert row.reason.startswith("interrupted while waiting for the node to be Ready; rolled back; "
                                     "k3s is running again"), row.reason
    assert board.snapshot() == before
