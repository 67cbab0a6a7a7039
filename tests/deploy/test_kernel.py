"""deploy checks the board's kernel before it changes anything: the stand-in
board over a real sshd (tests/support/board.py), its kernel config a recorded
vendor config (tests/fixtures/boards) where the real ``uname -r`` looks for it."""

from __future__ import annotations

import gzip
import json
import platform
from pathlib import Path

from archport.cli.main import main
from archport.deploy import kernel
from archport.node.kernel import check_config

BOARDS = Path(__file__).resolve().parents[1] / "fixtures" / "boards"
REG = "127.0.0.1:5000"


def with_config(board, name: str, where: str = "boot") -> None:
    text = (BOARDS / f"{name}.config").read_text()
    if where == "boot":
        p = board.root / "boot" / f"config-{platform.release()}"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    else:
        p = board.root / "proc" / "config.gz"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(gzip.compress(text.encode()))


def deploy(board, capsys, *extra):
    rc = main(["deploy", *board.ssh_args(), "--registry", REG, *extra])
    return rc, capsys.readouterr()


def test_a_kernel_without_seccomp_is_refused_before_anything_changes(board, capsys):
    with_config(board, "jh7110")
    before = board.snapshot()
    rc, out = deploy(board, capsys, "--yes")
    assert rc == 1, out.out
    lines = out.out.splitlines()
    first_note = next(i for i, ln in enumerate(lines) if "note:" in ln)
    assert lines[first_note].strip() == (f"note: kernel {platform.release()} (/boot/config-{platform.release()}): "
                                         "lacks 1 thing k3s cannot run without")
    assert ("refused: the kernel lacks CONFIG_SECCOMP: pods fail to start: the runtime's default seccomp profile "
            "cannot be loaded") in out.out
    assert board.snapshot() == before and board.restarts() == 0


def test_force_deploys_anyway_and_keeps_the_line(board, capsys):
    with_config(board, "jh7110")
    rc, out = deploy(board, capsys, "--yes", "--force", "--json")
    assert rc == 0, out.out
    (row,) = json.loads(out.out)["boards"]
    assert row["status"] == "changed" and not row["plan"]["refusals"]
    assert row["kernel"]["check"]["missing"][0]["options"] == ["CONFIG_SECCOMP"]
    assert row["kernel"]["config"] == f"/boot/config-{platform.release()}"
    assert any("CONFIG_SECCOMP" in n and "--force" in n for n in row["plan"]["notes"])
    assert board.restarts() == 1


def test_a_kernel_with_what_k3s_needs_is_shown_and_deployed(board, capsys):
    with_config(board, "k1", where="proc")
    rc, out = deploy(board, capsys, "--dry-run")
    assert rc == 0, out.out
    assert f"note: kernel {platform.release()} (/proc/config.gz): has what k3s needs (iptables backends: " in out.out


def test_no_config_readable_is_said_not_refused(board, capsys):
    rc, out = deploy(board, capsys, "--dry-run", "--json")
    assert rc == 0
    (row,) = json.loads(out.out)["boards"]
    assert row["plan"]["notes"][0] == (f"kernel {platform.release()}: not checked (no /proc/config.gz, "
                                       f"no /boot/config-{platform.release()})")


def test_one_line_per_missing_thing():
    text = (BOARDS / "jh7110.config").read_text().replace("CONFIG_NAMESPACES=y\n", "")
    k = kernel.Kernel("5.15.0", "/proc/config.gz", check_config(text))
    assert kernel.missing(k) == [
        "the kernel lacks CONFIG_NAMESPACES: containers cannot be isolated: runc fails to create the pod sandbox",
        "the kernel lacks CONFIG_SECCOMP: pods fail to start: the runtime's default seccomp profile cannot be "
        "loaded"]
    assert kernel.summary(k) == "kernel 5.15.0 (/proc/config.gz): lacks 2 things k3s cannot run without"
