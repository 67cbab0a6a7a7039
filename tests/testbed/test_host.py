"""The host keeps its sysctls, mounts and links while the bed runs and after
it is taken down (the qemu binfmt entry is the one thing the bed may add)."""
from pathlib import Path
from urllib.parse import urlsplit

from testbed import k3s, node, paths, sessions
from tests.testbed import hostsnap

# What kubelet sets (pkg/kubelet/cm/container_manager_linux.go, setupKernelTunables).
KUBELET_WANTS = {"vm/overcommit_memory": "1", "vm/panic_on_oom": "0", "kernel/panic": "10",
                 "kernel/panic_on_oops": "1"}


def test_kubelet_sysctl_writes_land_on_the_boards_files(bed):
    for name, value in KUBELET_WANTS.items():
        decoy = bed.lay.sysctl_decoys / name.replace("/", ".")
        assert decoy.read_text().strip() == value, name
    seen = node.board_exec(["cat", "/proc/sys/vm/overcommit_memory"]).stdout.strip()
    assert seen == "1"                      # the board sees what kubelet wrote ...
    host = Path("/proc/sys/vm/overcommit_memory").read_text().strip()
    if bed.host_before is not None:         # ... the host keeps its own value
        assert host == bed.host_before["sysctls"]["vm/overcommit_memory"]


def test_board_has_its_own_files_and_network(bed):
    assert not Path("/etc/rancher").exists() and not Path("/var/lib/rancher").exists()
    assert "k3s.yaml" in node.board_exec(["ls", paths.BOARD_ETC_K3S]).stdout
    # The board's links: its loopback, and CNI's bridge and veths once a pod ran.
    links = node.board_exec(["ip", "-o", "link", "show"]).stdout.splitlines()
    names = [line.split(":")[1].strip().split("@")[0] for line in links]
    assert names[0] == "lo" and all(n in ("lo", "cni0") or n.startswith("veth") for n in names), names
    host = " ".join(hostsnap.links())
    assert "cni0" not in host
    # A public name does not resolve inside the board: the Debian archive's,
    # which this machine itself reaches (its apt sources name it).
    public = urlsplit(paths.debian_archive()).hostname
    cp = node.board_exec(["getent", "hosts", public], timeout=30)
    assert cp.returncode != 0


def test_host_unchanged_while_up_and_after_down(bed):
    assert bed.host_before is not None, (
        "the bed was up before this session, so there is no snapshot from before it: "
        "run `scripts/testbed.sh down` and run the tests again")
    before = bed.host_before
    assert hostsnap.snapshot() == before
    others = sessions.other_users(bed.lay)
    assert not others, f"other test sessions use the bed (pids {others}): cannot take it down under them"

    node.down()
    assert not any(node.status().values())
    assert hostsnap.snapshot() == before

    # And back up, idempotently, for the tests that follow.
    k3s.up()
    node.up()   # a second up on a running bed does nothing
    assert all(node.status().values())
