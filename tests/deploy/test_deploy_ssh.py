"""archport deploy against a stand-in board over a real sshd (see tests/support/board.py)."""

from __future__ import annotations

import io
import json
import stat
import tarfile

from ruamel.yaml import YAML

from archport.cli.main import main

REG = "127.0.0.1:5000"
USER_REGISTRIES = """\
# Lab mirrors: keep the mirror-src.example.org cache first.
mirrors:
  # the other registry through the lab cache
  mirror-src.example.org:
    endpoint:
      - "https://cache.lab.internal:5000"   # the lab's pull-through cache
configs:
  "cache.lab.internal:5000":
    tls:
      insecure_skip_verify: true
"""


def deploy(board, *extra, capsys=None):
    rc = main(["deploy", *board.ssh_args(), *extra])
    out = capsys.readouterr() if capsys else None
    return rc, out


def registries(board) -> dict:
    return YAML(typ="safe").load((board.root / "etc/rancher/k3s/registries.yaml").read_text())


def test_dry_run_shows_the_diff_for_a_board_without_registries_yaml(board, capsys):
    before = board.snapshot()
    rc, out = deploy(board, "--registry", f"{REG}/riscv", "--dry-run", capsys=capsys)
    assert rc == 0, out.err
    assert "--- /dev/null" in out.out and "+++ b/etc/rancher/k3s/registries.yaml" in out.out
    assert '+      - "http://127.0.0.1:5000"' in out.out
    assert '+      "^(.*)$": "riscv/$1"' in out.out
    assert "then restart k3s" in out.out and "planned" in out.out
    assert board.snapshot() == before and board.restarts() == 0


def test_dry_run_keeps_the_users_mirrors_and_comments(board, capsys):
    board.reset(registries=USER_REGISTRIES)
    rc, out = deploy(board, "--registry", REG, "--dry-run", "--json", capsys=capsys)
    assert rc == 0
    doc = json.loads(out.out)
    (change,) = [c for c in doc["boards"][0]["plan"]["changes"] if c["path"].endswith("registries.yaml")]
    removed = [ln for ln in change["diff"].splitlines() if ln.startswith("-") and not ln.startswith("---")]
    assert removed == []                                   # only additions: nothing of the user's goes
    assert "       - \"https://cache.lab.internal:5000\"   # the lab's pull-through cache" in change["diff"]
    # and after apply the file still has them, with both mirrors
    rc, out = deploy(board, "--registry", REG, "--yes", capsys=capsys)
    assert rc == 0, out.err
    text = (board.root / "etc/rancher/k3s/registries.yaml").read_text()
    assert text.startswith(USER_REGISTRIES.splitlines()[0])
    assert "# the other registry through the lab cache" in text and "# the lab's pull-through cache" in text
    doc = registries(board)
    assert doc["mirrors"]["mirror-src.example.org"]["endpoint"][0] == "https://cache.lab.internal:5000"
    assert doc["mirrors"]["docker.io"]["endpoint"] == ["http://127.0.0.1:5000"]
    assert doc["configs"]["cache.lab.internal:5000"] == {"tls": {"insecure_skip_verify": True}}


def test_apply_then_a_second_run_changes_nothing(board, capsys):
    rc, out = deploy(board, "--registry", f"{REG}/riscv", "--pause-image", f"{REG}/riscv/rancher/mirrored-pause:3.6",
                     "--yes", capsys=capsys)
    assert rc == 0, out.err
    assert board.restarts() == 1 and "changed" in out.out
    doc = registries(board)
    assert doc["mirrors"]["docker.io"] == {"endpoint": ["http://127.0.0.1:5000"], "rewrite": {"^(.*)$": "riscv/$1"}}
    dropin = (board.root / "etc/rancher/k3s/config.yaml.d/50-archport.yaml").read_text()
    assert 'pause-image: "127.0.0.1:5000/riscv/rancher/mirrored-pause:3.6"' in dropin
    assert (board.root / "etc/rancher/k3s/config.yaml").read_text() == board.snapshot()["etc/rancher/k3s/config.yaml"].decode()
    assert "# packaged by k3s\n" == (board.root / "var/lib/rancher/k3s/server/manifests/coredns.yaml").read_text()
    files = board.snapshot()

    rc, out = deploy(board, "--registry", f"{REG}/riscv", "--pause-image", f"{REG}/riscv/rancher/mirrored-pause:3.6",
                     "--yes", "--json", capsys=capsys)
    assert rc == 0
    doc = json.loads(out.out)
    assert doc["unchanged"] == 1 and doc["boards"][0]["reason"] == "nothing to change"
    assert doc["boards"][0]["restarted"] is False
    assert board.restarts() == 1 and board.snapshot() == files


def test_a_change_that_keeps_k3s_from_starting_is_rolled_back(board, capsys):
    board.reset(registries=USER_REGISTRIES)
    before = board.snapshot()
    board.break_on("127.0.0.1:5000")
    rc, out = deploy(board, "--registry", REG, "--system-default-registry", "--yes", "--json", capsys=capsys)
    assert rc == 1
    row = json.loads(out.out)["boards"][0]
    assert row["status"] == "failed" and row["rolledBack"] is True
    assert row["reason"].startswith("the change to registries.yaml broke it (k3s's error names it): k3s did not start")
    assert "rolled back; k3s is running again" in row["reason"]
    assert 'k3s logged: time="2026-11-27T05:00:00Z" level=fatal msg="failed to start containerd' in row["reason"]
    log = board.root / "var/log/k3s.log"
    assert log.exists()
    log.unlink()                                            # the stand-in's own log, not one of deploy's files
    assert board.snapshot() == before                       # byte-identical, no backups left behind
    assert board.restarts() == 2                            # the failed start, and the one after the rollback


def test_a_node_that_stays_notready_is_rolled_back_after_the_timeout(board, capsys):
    before = board.snapshot()
    board.not_ready_on("127.0.0.1:5000")
    rc, out = deploy(board, "--registry", REG, "--yes", "--timeout", "1", "--json", capsys=capsys)
    assert rc == 1
    reason = json.loads(out.out)["boards"][0]["reason"]
    assert "was not Ready within 1s (NotReady)" in reason and "rolled back; k3s is running again" in reason
    assert board.snapshot() == before


def test_restart_pods_deletes_the_pods_stuck_pulling(board, capsys):
    rc, out = deploy(board, "--registry", REG, "--yes", "--restart-pods", "--json", capsys=capsys)
    assert rc == 0
    deleted = (board.state / "deleted").read_text().split()
    # after the restart, a pod still waiting for its sandbox (the pause image) goes too
    assert sorted(deleted) == ["coredns-b96499967-x2x8b", "metrics-server-668d979685-9szb9", "svclb-traefik-7x9q2"]
    assert json.loads(out.out)["boards"][0]["deletedPods"] == deleted
    (board.state / "deleted").unlink()
    rc, out = deploy(board, "--registry", REG, "--yes", "--restart-pods", "--json", capsys=capsys)
    assert rc == 0 and json.loads(out.out)["boards"][0]["status"] == "unchanged"
    # no restart this time: only the pods stuck pulling
    assert sorted((board.state / "deleted").read_text().split()) == ["coredns-b96499967-x2x8b",
                                                                     "metrics-server-668d979685-9szb9"]


def test_credentials_reach_the_board_only(board, capsys, tmp_path, monkeypatch):
    secret = "Pa55-w0rd-for-the-board-only"
    cfg = tmp_path / "docker"
    cfg.mkdir()
    import base64
    auth = base64.b64encode(f"boarduser:{secret}".encode()).decode()
    (cfg / "config.json").write_text(json.dumps({"auths": {"reg.lab.internal:5000": {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(cfg))
    rc, out = deploy(board, "--registry", "reg.lab.internal:5000/riscv", "--dry-run", "--debug", capsys=capsys)
    assert rc == 0 and secret not in out.out + out.err and auth not in out.out + out.err
    assert "password: <redacted>" in out.out
    rc, out = deploy(board, "--registry", "reg.lab.internal:5000/riscv", "--yes", "--json", "--debug", capsys=capsys)
    assert rc == 0, out.err
    assert secret not in out.out + out.err and auth not in out.out + out.err
    path = board.root / "etc/rancher/k3s/registries.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = registries(board)
    assert doc["configs"]["reg.lab.internal:5000"]["auth"] == {"username": "boarduser", "password": secret}
    assert doc["mirrors"]["docker.io"]["endpoint"] == ["https://reg.lab.internal:5000"]


def oci_tar(path, payload: bytes = b"x") -> None:
    with tarfile.open(path, "w") as t:
        for name, data in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", payload)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


def test_airgap_tarball_is_copied_and_checked_once(board, capsys, tmp_path):
    tar = tmp_path / "archport-riscv64.tar"
    oci_tar(tar, b'{"schemaVersion":2,"manifests":[]}')
    rc, out = deploy(board, "--airgap", str(tar), "--yes", "--json", capsys=capsys)
    assert rc == 0, out.err
    row = json.loads(out.out)["boards"][0]
    assert row["status"] == "changed" and row["restarted"] is True    # v1.24 imports only at start
    assert (board.root / "var/lib/rancher/k3s/agent/images/archport-riscv64.tar").read_bytes() == tar.read_bytes()
    rc, out = deploy(board, "--airgap", str(tar), "--yes", "--json", capsys=capsys)
    assert rc == 0 and json.loads(out.out)["boards"][0]["status"] == "unchanged"
    assert board.restarts() == 1


def test_two_boards_one_unreachable(board, capsys):
    rc = main(["deploy", *board.ssh_args(), "--host", "root@127.0.0.1:1", "--registry", REG, "--yes",
               "--parallel", "2", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1
    status = {r["board"]: r["status"] for r in doc["boards"]}
    assert status == {board.host: "changed", "root@127.0.0.1:1": "failed"}
    failed = [r for r in doc["boards"] if r["status"] == "failed"][0]
    assert "refused" in failed["reason"].lower()


def test_an_unpinned_host_key_is_refused(board, capsys):
    args = [a.replace("pinned_known_hosts", "empty_known_hosts") for a in board.ssh_args()]
    rc = main(["deploy", *args, "--registry", REG, "--dry-run"])
    err = capsys.readouterr().err
    assert rc == 1 and "Host key verification failed" in err and len(err.strip().splitlines()) == 1


def test_an_inventory_row_carries_its_own_user_port_and_key(board, capsys, tmp_path):
    inv = tmp_path / "boards.yaml"
    inv.write_text(f"all:\n  children:\n    riscv:\n      hosts:\n        lpi4a:\n          ansible_host: 127.0.0.1\n"
                   f"          ansible_port: {board.server.port}\n          ansible_user: {board.server.user}\n"
                   f"          ansible_ssh_private_key_file: {board.server.key}\n")
    args = board.ssh_args(host=False, key=False)             # user, port and key come from the row
    rc = main(["deploy", "--inventory", str(inv), *args, "--registry", REG, "--dry-run", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and [(r["board"], r["status"]) for r in doc["boards"]] == [("lpi4a", "planned")]


def test_without_yes_and_without_a_terminal_nothing_is_applied(board, capsys):
    before = board.snapshot()
    rc = main(["deploy", *board.ssh_args(), "--registry", REG])
    out = capsys.readouterr()
    assert rc == 2 and "pass --yes" in out.err and "+++ b/etc/rancher/k3s/registries.yaml" in out.out
    assert board.snapshot() == before and board.restarts() == 0


def test_a_plan_the_boards_k3s_cannot_honour_is_refused(board, capsys):
    board.reset(version="v1.20.15+k3s1")
    before = board.snapshot()
    rc, out = deploy(board, "--registry", f"{REG}/riscv", "--yes", "--json", capsys=capsys)
    row = json.loads(out.out)["boards"][0]
    assert rc == 1 and row["status"] == "failed" and row["k3s"] == "v1.20.15+k3s1"
    assert "refused: k3s v1.20.15+k3s1 is older than v1.21.0+k3s1" in row["reason"] and "rewrite" in row["reason"]
    assert board.snapshot() == before and board.restarts() == 0


def test_an_agent_restarts_k3s_agent(board, capsys):
    board.reset(role="agent")
    rc, out = deploy(board, "--registry", REG, "--yes", "--json", capsys=capsys)
    row = json.loads(out.out)["boards"][0]
    assert rc == 0 and row["role"] == "agent" and row["status"] == "changed"
    assert board.restarted() == ["k3s-agent"]
