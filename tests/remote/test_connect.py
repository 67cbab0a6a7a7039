"""Connectors: Local here; SSH over the suite's loopback sshd."""

import inspect
import stat

import pytest

from archport.remote import SSH, Connector, Local, Unreachable


@pytest.mark.parametrize("conn", [Local(), SSH("board")], ids=["local", "ssh"])
def test_local_and_ssh_are_connectors(conn):
    """Every member of the protocol, taking at least the protocol's parameters."""
    assert isinstance(conn.name, str) and conn.name
    for member in ("run", "get", "put", "put_file"):
        want = list(inspect.signature(getattr(Connector, member)).parameters)[1:]
        have = inspect.signature(getattr(conn, member)).parameters
        assert want == list(have)[:len(want)], member


def test_local_put_is_atomic_and_private_first(tmp_path):
    p = tmp_path / "f"
    Local().put(b"secret", str(p), 0o600)
    assert p.read_bytes() == b"secret" and stat.S_IMODE(p.stat().st_mode) == 0o600
    assert not (tmp_path / "f.archport-tmp").exists()


def test_ssh_run_put_get_and_put_file(sshd_server, tmp_path):
    conn = SSH(sshd_server.destination, tuple(sshd_server.ssh_options()))
    assert conn.run("echo hi; exit 3").rc == 3
    target = tmp_path / "registries.yaml"
    conn.put(b"a: 1\n", str(target), 0o600)
    assert conn.get(str(target)) == b"a: 1\n" and stat.S_IMODE(target.stat().st_mode) == 0o600
    big = tmp_path / "big.tar"
    big.write_bytes(bytes(range(256)) * 8192)
    conn.put_file(big, str(tmp_path / "copy.tar"))
    assert (tmp_path / "copy.tar").read_bytes() == big.read_bytes()


def test_ssh_unreachable_is_one_line(tmp_path):
    conn = SSH("root@127.0.0.1", ("BatchMode=yes", f"UserKnownHostsFile={tmp_path / 'kh'}"), port=1)
    with pytest.raises(Unreachable) as e:
        conn.run("true")
    assert "cannot connect to root@127.0.0.1" in str(e.value) and "\n" not in str(e.value)
