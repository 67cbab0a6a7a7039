"""Boards are named the same way in every command: a repeated --host is
several boards, --inventory works everywhere, this machine is --local (or
--host localhost, no ssh), an unreachable board is exit 1 (the operation
failed, not bad input), and a password in --host is never echoed."""

from __future__ import annotations

import json
import os
import tarfile

import pytest

from archport.cli.main import main
from archport.node.boards import LOCAL, SshOptions, connect, from_hosts, parse_inventory
from archport.remote import SSH, Local

from tests.support.board import install_standin, make, make_root

PASSWORD = "s3cr3tPW-9f2"
# Every command that takes boards, with what it needs besides them.
BOARD_COMMANDS = {
    "doctor": ["--no-registry"],
    "collect": ["--out", "{tmp}/dump"],
    "audit": ["--no-registry"],
    "deploy": ["--registry", "127.0.0.1:5000", "--dry-run"],
    "verify": ["--timeout", "1"],
}
CLOSED = ["-o", "ConnectTimeout=3", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]


def _args(command, tmp_path):
    return [a.replace("{tmp}", str(tmp_path)) for a in BOARD_COMMANDS[command]]


@pytest.fixture(scope="module")
def node(sshd_server, tmp_path_factory):
    install_standin(sshd_server.bin_dir)
    return make_root(tmp_path_factory.mktemp("node"))


def _ssh(server) -> list[str]:
    out = []
    for o in server.ssh_options():
        out += ["-o", o]
    return out


# --- a password in --host ---------------------------------------------------

@pytest.mark.parametrize("command", [*BOARD_COMMANDS, "check"])
@pytest.mark.parametrize("spelling", ["bob:{pw}@127.0.0.1", "ssh://bob:{pw}@127.0.0.1:22", "bob:{pw}@[::1]:22"])
def test_a_password_in_host_is_refused_and_never_echoed(command, spelling, tmp_path, capsys):
    host = spelling.format(pw=PASSWORD)
    if command == "check":
        argv = ["check", "--json", "--board", host, "127.0.0.1:5000/x:1"]
    else:
        argv = [command, "--json", "--host", host, *_args(command, tmp_path)]
    rc = main(argv)
    out = capsys.readouterr()
    assert rc == 2, out
    assert PASSWORD not in out.out + out.err
    assert "password" in (out.out + out.err)


@pytest.mark.parametrize("command", BOARD_COMMANDS)
def test_a_password_in_an_inventory_is_never_echoed(command, tmp_path, capsys):
    inv = tmp_path / "boards.ini"
    inv.write_text(f"[riscv]\nlpi4a ansible_host=bob:{PASSWORD}@127.0.0.1\n")
    rc = main([command, "--json", "--inventory", str(inv), *_args(command, tmp_path)])
    out = capsys.readouterr()
    assert rc == 2 and PASSWORD not in out.out + out.err


def test_inventory_names_and_hosts_are_shown_without_their_password():
    boards = parse_inventory(f"[x]\nbob:{PASSWORD}@h ansible_host=127.0.0.1\n", "inv")
    assert PASSWORD not in repr(boards)


# --- unreachable is exit 1 ---------------------------------------------------

@pytest.mark.parametrize("command", BOARD_COMMANDS)
def test_an_unreachable_board_is_exit_1_not_bad_input(command, tmp_path, capsys):
    rc = main([command, "--host", "root@127.0.0.1:1", *CLOSED, *_args(command, tmp_path)])
    out = capsys.readouterr()
    text = out.out + out.err
    assert rc == 1, text
    assert "cannot connect to root@127.0.0.1" in text and "Traceback" not in text


# --- this machine ------------------------------------------------------------

def test_localhost_alone_is_this_machine_and_localhost_with_a_port_is_ssh():
    assert isinstance(connect(from_hosts(["localhost"])[0], SshOptions()), Local)
    assert isinstance(connect(LOCAL, SshOptions()), Local)
    assert isinstance(connect(from_hosts(["localhost:2222"])[0], SshOptions()), SSH)
    assert isinstance(connect(from_hosts(["root@localhost"])[0], SshOptions()), SSH)
    inv = parse_inventory("[me]\nthis-board ansible_connection=local\n", "inv")
    assert isinstance(connect(inv[0], SshOptions()), Local)


@pytest.mark.parametrize("command", BOARD_COMMANDS)
def test_local_and_host_are_one_way_each(command, tmp_path, capsys):
    rc = main([command, "--local", "--host", "b1", *_args(command, tmp_path)])
    assert rc == 2 and "two ways" in capsys.readouterr().err


def test_deploy_on_the_board_itself_needs_no_ssh(tmp_path, monkeypatch, capsys):
    board = make(tmp_path)
    try:
        no_ssh = tmp_path / "no-ssh"
        no_ssh.mkdir()
        (no_ssh / "ssh").write_text("#!/bin/sh\necho 'ssh must not be used' >&2\nexit 255\n")
        (no_ssh / "ssh").chmod(0o755)
        monkeypatch.setenv("PATH", f"{no_ssh}:{board.server.bin_dir}:/usr/bin:/bin:/usr/sbin:/sbin")
        for where in (["--host", "localhost"], ["--local"]):
            rc = main(["deploy", "--json", *where, "--root", str(board.root), "--registry", "127.0.0.1:5000",
                       "--dry-run"])
            out = capsys.readouterr()
            doc = json.loads(out.out)
            assert rc == 0, out
            assert doc["boards"][0]["status"] == "planned" and "ssh must not be used" not in out.err
    finally:
        board.server.stop()


def test_audit_local_without_k3s_says_so_with_exit_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")      # no k3s here
    empty = tmp_path / "root"
    empty.mkdir()
    rc = main(["audit", "--local", "--root", str(empty), "--no-registry"])
    out = capsys.readouterr()
    assert rc == 1
    assert "has no k3s" in out.err and "every image offers" not in out.out


@pytest.mark.parametrize("command", ["audit", "doctor", "collect", "deploy"])
def test_local_root_that_does_not_exist_is_bad_input(command, tmp_path, capsys):
    rc = main([command, "--local", "--root", str(tmp_path / "nonexistent"), *_args(command, tmp_path)])
    assert rc == 2 and "no such directory" in capsys.readouterr().err


# --- several boards ------------------------------------------------------------

def test_doctor_reports_each_board(sshd_server, node, capsys):
    ssh = _ssh(sshd_server)
    rc = main(["doctor", "--json", "--no-registry", "--host", sshd_server.destination, "--host",
               sshd_server.destination, *ssh, "--root", str(node)])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1 and len(doc["boards"]) == 2 and doc["healthy"] is False
    assert all(b["groups"] for b in doc["boards"])


def test_doctor_and_collect_read_an_inventory(sshd_server, node, tmp_path, capsys):
    inv = tmp_path / "boards.yaml"
    rows = "".join(f"    {name}:\n      ansible_host: 127.0.0.1\n      ansible_user: {sshd_server.user}\n"
                   for name in ("lpi4a", "visionfive2"))
    inv.write_text("all:\n  hosts:\n" + rows)
    ssh = _ssh(sshd_server)
    rc = main(["doctor", "--json", "--no-registry", "--inventory", str(inv), *ssh, "--root", str(node)])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1 and [b["board"] for b in doc["boards"]] == ["lpi4a", "visionfive2"]
    out = tmp_path / "dumps"
    rc = main(["collect", "--json", "--inventory", str(inv), *ssh, "--root", str(node), "--out", str(out)])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and sorted(p.name for p in out.iterdir()) == ["lpi4a.tar.gz", "visionfive2.tar.gz"]
    for p in out.iterdir():
        with tarfile.open(p) as tar:
            assert any(m.name.endswith("k3s-version.txt") for m in tar)


def test_collect_writes_one_dump_per_board_and_goes_on_past_an_unreachable_one(sshd_server, node, tmp_path,
                                                                                capsys):
    ssh = [x for o in sshd_server.ssh_options() if not o.startswith("Port=") for x in ("-o", o)]
    out = tmp_path / "dumps"
    rc = main(["collect", "--json", "--host", f"{sshd_server.destination}:{sshd_server.port}", "--host",
               "root@127.0.0.1:1", *ssh,
               "-o", "ConnectTimeout=3", "--root", str(node), "--out", str(out)])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert len(doc["boards"]) == 2 and "error" in doc["boards"][1] and "out" in doc["boards"][0]
    assert [p.name for p in out.iterdir()] == [os.path.basename(doc["boards"][0]["out"])]


def test_collect_of_several_boards_into_one_file_is_bad_input(tmp_path, capsys):
    rc = main(["collect", "--host", "b1", "--host", "b2", "--out", str(tmp_path / "x.tar.gz")])
    assert rc == 2 and "give a directory" in capsys.readouterr().err
