"""The host keeps its sysctls, mounts and links while the bed runs and after
it is taken down (the qemu binfmt entry is the one thing the bed may add).

Other work on this machine changes the host too while the bed is up: another
containerd creates ``/etc/cni/net.d``, a smoke run mounts binfmt_misc, a
runtime turns on ``ip_forward``.  So a difference from the snapshot fails the
test only when it is the bed's (it names the bed's directory, or is what the
bed's kubelet writes); one that cannot be told apart is named in a warning."""
import warnings
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
    _assert_unchanged_by_the_bed(before, hostsnap.snapshot(), bed.lay.root, "while the bed is up")
    others = sessions.other_users(bed.lay)
    assert not others, f"other test sessions use the bed (pids {others}): cannot take it down under them"

    node.down()
    assert not any(node.status().values())
    _assert_unchanged_by_the_bed(before, hostsnap.snapshot(), bed.lay.root, "after the bed is down")

    # And back up, idempotently, for the tests that follow.
    k3s.up()
    node.up()   # a second up on a running bed does nothing
    assert all(node.status().values())


# -- telling the bed's changes from the machine's -----------------------------------

# Mount points the board's own namespace uses (testbed/node.py); on the host,
# a mount there with the bed's directory in it is a leak of the board's.
_BOARD_TARGETS = ("/etc", "/var", "/run")


def differences(before: dict, after: dict) -> list[tuple[str, str, object, object]]:
    """(kind, key, before, after) for every entry of the two snapshots that differs."""
    out = []
    for kind in ("sysctls", "paths"):
        for key in sorted(set(before[kind]) | set(after[kind])):
            if before[kind].get(key) != after[kind].get(key):
                out.append((kind, key, before[kind].get(key), after[kind].get(key)))
    for kind in ("mounts", "links"):
        # mounts are (target, fstype, source) rows (lists once read back from JSON); links are lines
        old = {" ".join(row) if kind == "mounts" else row for row in before[kind]}
        new = {" ".join(row) if kind == "mounts" else row for row in after[kind]}
        out += [(kind, row, None, "added") for row in sorted(new - old)]
        out += [(kind, row, "present", None) for row in sorted(old - new)]
    return out


def _mentions(path: Path, needle: str, limit: int = 64) -> bool:
    """A file at or below ``path`` (the first ``limit``) names ``needle``."""
    files = [path] if path.is_file() else list(path.rglob("*"))[:limit] if path.is_dir() else []
    for f in files:
        try:
            if f.is_file() and needle in f.read_text(errors="replace")[:65536]:
                return True
        except OSError:
            continue
    return False


def the_beds(kind: str, key: str, old, new, bed_root: Path) -> bool | None:
    """True: the bed made this change; None: it cannot be told apart from
    what other work on the machine does."""
    root = str(bed_root)
    if kind == "sysctls":
        # The bed's kubelet writes these; it sees stand-in files.  The host
        # taking kubelet's exact value is the stand-ins failing.
        want = KUBELET_WANTS.get(key)
        return True if want is not None and new == want and old != want else None
    if kind == "mounts":
        target = key.split(" ", 1)[0]
        if root in key:
            return True
        if target in _BOARD_TARGETS or target.removeprefix("/proc/sys/") in KUBELET_WANTS:
            return True     # one of the board's own mount points, on the host
        return None         # e.g. binfmt_misc, mounted by a smoke run or systemd
    if kind == "paths":
        # A directory the bed's components would create holds the bed's
        # paths in what they write (CNI configs name the bed's directories);
        # an empty one is what any containerd's CRI plugin creates at start.
        return True if new and _mentions(Path(key), root) else None
    return None             # links: the board's live in its own network namespace


def _assert_unchanged_by_the_bed(before: dict, after: dict, bed_root: Path, when: str) -> None:
    ours, unknown = [], []
    for kind, key, old, new in differences(before, after):
        line = f"{kind} {key}: {old!r} -> {new!r}"
        (ours if the_beds(kind, key, old, new, bed_root) else unknown).append(line)
    if unknown:
        warnings.warn(f"{when}, the host changed in ways the bed cannot be told apart from other work "
                      f"on this machine (not failed): " + "; ".join(unknown))
    assert not ours, f"{when}, the bed changed the host: " + "; ".join(ours)
