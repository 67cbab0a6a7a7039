"""The board's SSH door, pure parts: sshd_config and the command shims."""

from pathlib import Path

from testbed import ssh


def test_sshd_config_is_loopback_key_only_with_board_path_first(tmp_path):
    d = ssh.Door(tmp_path / "ssh")
    conf = ssh.sshd_config(d)
    assert "ListenAddress 127.0.0.1\n" in conf and "PasswordAuthentication no\n" in conf
    assert f"SetEnv PATH={d.bin}:" in conf and f"ARCHPORT_TESTBED_DIR={tmp_path}" in conf


def test_shims_cover_what_doctor_and_people_run(tmp_path):
    s = ssh.shims(ssh.Door(tmp_path), python="/py")
    assert set(s) == {"k3s", "kubectl", "crictl", "ctr", "systemctl", "journalctl", "uname"}
    assert 'exec /py -m testbed.k3s k3s kubectl "$@"' in s["kubectl"]
    assert 'exec /py -m testbed.k3s journalctl "$@"' in s["journalctl"]
    assert all(t.startswith("#!/bin/sh\n") for t in s.values())


def test_env_names_the_door(tmp_path):
    from testbed import paths
    e = ssh.env(paths.layout(tmp_path))
    assert e["BOARD_SSH"] == f"root@127.0.0.1:{paths.PORTS.ssh}"
    assert Path(e["BOARD_SSH_KEY"]).parent == tmp_path / "ssh"
    assert e["BOARD_KNOWN_HOSTS"].endswith("known_hosts")
