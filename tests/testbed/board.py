"""Helpers for tests that act on the board as a user does: over SSH."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

from testbed import ssh


def run(bed, command: str, *, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    opts = [x for o in ssh.options(bed.lay) for x in ("-o", o)]
    cp = subprocess.run(["ssh", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", *opts, "root@127.0.0.1", "--",
                         command], capture_output=True, text=True, timeout=timeout)
    if check and cp.returncode != 0:
        raise AssertionError(f"on the board: {command}: exit {cp.returncode}\n{cp.stdout}\n{cp.stderr}")
    return cp


def restart_k3s(bed) -> None:
    run(bed, "systemctl restart k3s")


def wait(what: str, ok, timeout: float = 180, every: float = 2):
    deadline = time.monotonic() + timeout
    while True:
        got = ok()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(every)


class Files:
    """Files a test puts on the board (host path of the board's directories);
    removed again by :meth:`restore`, which restarts k3s once if any was there."""

    def __init__(self, bed) -> None:
        self.bed = bed
        self.made: list[Path] = []

    def put(self, path: Path, data: str | bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        self.made.append(path)
        return path

    def restore(self) -> None:
        if not self.made:
            return
        for p in self.made:
            p.unlink(missing_ok=True)
        self.made.clear()
        restart_k3s(self.bed)


def forget_images(bed, repositories) -> list[str]:
    """Make the node forget every image of ``repositories`` (``rancher/x``),
    through the CRI as the kubelet sees them (``crictl rmi`` by image ID: a
    ``ctr images rm`` of the names leaves the ID the CRI resolves a tag to).
    Returns the IDs removed."""
    import json
    images = json.loads(run(bed, "crictl images -o json").stdout or "{}").get("images") or []
    ids = [i["id"] for i in images
           if any(repo in ref for repo in repositories for ref in (i.get("repoTags") or []) + (i.get("repoDigests") or []))]
    if ids:
        run(bed, "crictl rmi " + " ".join(ids), check=False)
    return ids


def cli_args(bed) -> list[str]:
    """The board as archport's commands name it, the way a user does after
    ``eval "$(scripts/testbed.sh env)"``: ``--host`` and the SSH options."""
    e = ssh.env(bed.lay)
    return ["--host", e["BOARD_SSH"], "-i", e["BOARD_SSH_KEY"], "-o", f"UserKnownHostsFile={e['BOARD_KNOWN_HOSTS']}",
            "-o", "IdentitiesOnly=yes"]
