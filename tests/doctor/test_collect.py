"""archport collect / doctor --host: a real sshd on loopback, a stand-in k3s."""

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from archport.cli.main import main
from archport.node import collect, redact
from archport.remote import SSH, Local, Unreachable

from tests.support.board import SECRETS, install_standin, make_root


@pytest.fixture(scope="module")
def board(sshd_server, tmp_path_factory):
    install_standin(sshd_server.bin_dir)
    return make_root(tmp_path_factory.mktemp("board"))


def ssh_args(server):
    args = ["--host", server.destination]
    for o in server.ssh_options():
        args += ["-o", o]
    return args


def all_text(path):
    if path.is_dir():
        return "\n".join(p.read_text(errors="replace") for p in path.rglob("*") if p.is_file())
    with tarfile.open(path) as tar:
        return "\n".join(tar.extractfile(m).read().decode(errors="replace") for m in tar if m.isfile())


def test_collect_over_ssh_redacts_every_secret(sshd_server, board, tmp_path, capsys):
    out = tmp_path / "bug-report.tar.gz"
    rc = main(["collect", "--json", *ssh_args(sshd_server), "--root", str(board), "--out", str(out)])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and out.is_file()
    assert doc["source"] == f"ssh:{sshd_server.destination}"
    blob = all_text(out)
    for name, secret in SECRETS.items():
        assert secret not in blob, f"{name} survived redaction"
    assert "username: board" in blob                # not a secret, kept for debugging
    assert redact.MASK in blob
    # what the board really has came through
    assert "vxlan: loaded" in blob and "cpu.weight: present" in blob and "mmu\t\t: sv39" in blob
    assert "coredns.yaml" in blob and "archport.tar" in blob


def test_doctor_over_ssh_names_the_causes(sshd_server, board, capsys):
    rc = main(["doctor", "--json", "--no-registry", *ssh_args(sshd_server), "--root", str(board)])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1
    causes = {g["cause"] for g in doc["groups"]}
    assert {"no-platform", "entrypoint", "wrong-arch", "unqualified"} <= causes
    # registries.yaml has a docker.io mirror, and containerd.log says it is plain HTTP:
    # the metrics-server pull (network in the kubelet's words) is read through it.
    assert "journal" not in doc["missing"] and "registries" not in doc["missing"]


def test_collected_dump_reads_back_like_live(sshd_server, board, tmp_path):
    conn = SSH(sshd_server.destination, tuple(sshd_server.ssh_options()))
    live = collect.live(conn, str(board))
    out = collect.write(collect.gather(conn, str(board)), tmp_path / "dump", conn.name)
    back = collect.read(out)
    assert back.cluster == live.cluster and back.sandboxes == live.sandboxes
    assert back.vxlan == live.vxlan == "loaded" and back.mmu == "sv39"
    assert back.registries["configs"]["mirror.example.internal:5000"]["auth"]["password"] == redact.MASK


def test_ssh_put_get_roundtrip(sshd_server, tmp_path):
    conn = SSH(sshd_server.destination, tuple(sshd_server.ssh_options()))
    target = tmp_path / "remote.txt"
    conn.put(b"hello board\n", str(target), 0o600)
    assert conn.get(str(target)) == b"hello board\n"
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_user_ssh_config_is_honored(sshd_server, board, tmp_path, capsys):
    cfg = tmp_path / "ssh_config"
    cfg.write_text("Host myboard\n  HostName 127.0.0.1\n  User " + sshd_server.user + "\n"
                   + "".join(f"  {o.split('=', 1)[0]} {o.split('=', 1)[1]}\n" for o in sshd_server.ssh_options()))
    rc = main(["doctor", "--json", "--no-registry", "--host", "myboard", "-F", str(cfg), "--root", str(board)])
    assert rc == 1 and json.loads(capsys.readouterr().out)["groups"]


def test_unreachable_host_is_one_line_exit_1(sshd_server, capsys):
    closed = ["-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "Port=1",
              "-o", "ConnectTimeout=3"]
    rc = main(["doctor", "--no-registry", "--host", "root@127.0.0.1", *closed])
    err = capsys.readouterr().err
    assert rc == 1 and "cannot connect to root@127.0.0.1" in err and "Traceback" not in err


def test_permission_denied_is_exit_1(sshd_server, tmp_path, capsys):
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    opts = [o for o in sshd_server.ssh_options() if not o.startswith("IdentityFile=")]
    args = ["--host", sshd_server.destination, "-i", str(other)]
    for o in opts:
        args += ["-o", o]
    rc = main(["collect", *args, "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert rc == 1 and "Permission denied" in err


def test_local_connector_with_root_prefix(board, sshd_server, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", f"{sshd_server.bin_dir}:/usr/bin:/bin:/usr/sbin:/sbin")
    facts = collect.live(Local(), str(board))
    assert len(facts.cluster.pods) == 6 and facts.config["pause-image"] == "rancher/mirrored-pause:3.6"
    assert facts.images_dir == ("archport.tar",)


def test_collect_refuses_non_empty_out_dir(tmp_path, board, sshd_server, monkeypatch, capsys):
    monkeypatch.setenv("PATH", f"{sshd_server.bin_dir}:/usr/bin:/bin:/usr/sbin:/sbin")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    assert main(["collect", "--root", str(board), "--out", str(tmp_path / "out")]) == 2
    assert "not empty" in capsys.readouterr().err


def test_unreachable_error_class():
    from archport.errors import ArchportError, BadInput
    assert issubclass(Unreachable, ArchportError) and not issubclass(Unreachable, BadInput)


def test_local_put_get_and_dump_is_read_only(tmp_path):
    from archport.node.collect import Dump
    from archport.errors import BadInput
    conn = Local()
    conn.put(b"x=1\n", str(tmp_path / "f.txt"), 0o640)
    assert conn.get(str(tmp_path / "f.txt")) == b"x=1\n"
    dump = Dump(Path(__file__).resolve().parents[1] / "fixtures" / "doctor" / "healthy")
    assert dump.run("k3s --version").stdout.startswith("k3s version v1.24.2+k3s1")
    assert dump.run("rm -rf /").rc == 127
    with pytest.raises(BadInput):
        dump.put(b"", "/etc/passwd")
    with pytest.raises(BadInput):
        dump.get("../../../../etc/passwd")
