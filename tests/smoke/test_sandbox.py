"""The emulated fallback runs image code confined, and an interrupted smoke
is a failed smoke.

The program is a static riscv64 C binary built here with the cross gcc.  It
tries what hostile image code would: write a host path (directly, and by
climbing with ``..``), read the host's ``/etc/shadow``, and connect to a
listener on the host's loopback.  In ``serve`` mode it waits and exits 0 on
SIGINT/SIGTERM: the way a server's clean shutdown would turn a Ctrl-C into
"ok" if the signal reached it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archport.layout import LayoutSource
from archport.smoke import sandbox
from archport.smoke.run import Options, smoke
from tests.support.cli import REPO, SRC
from standins.images import layer_from_files, make_image, make_index, write_layout

HOSTILE_C = r"""
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void bye(int s) { (void)s; static const char m[] = "signal: clean exit 0\n"; write(1, m, sizeof m - 1); _exit(0); }

static int try_write(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) { write(fd, "escaped\n", 8); close(fd); printf("write %s: ESCAPED\n", path); return 1; }
    printf("write %s: failed: %s\n", path, strerror(errno));
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "serve") == 0) {
        signal(SIGINT, bye);
        signal(SIGTERM, bye);
        printf("serving\n");
        fflush(stdout);
        for (;;) pause();
    }
    if (argc < 3) return 2;
    int escaped = try_write(argv[1]);
    char up[4096];
    snprintf(up, sizeof up, "../../../../../../../../../..%s", argv[1]);
    escaped |= try_write(up);
    char buf[64];
    int fd = open("/etc/shadow", O_RDONLY);
    if (fd >= 0 && read(fd, buf, sizeof buf) > 0) { printf("read /etc/shadow: ESCAPED\n"); escaped = 1; }
    else printf("read /etc/shadow: failed: %s\n", strerror(errno));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(atoi(argv[2]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0) { printf("connect 127.0.0.1:%s: ESCAPED\n", argv[2]); escaped = 1; }
    else printf("connect 127.0.0.1:%s: failed: %s\n", argv[2], strerror(errno));
    return escaped ? 3 : 0;
}
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> bytes:
    d = tmp_path_factory.mktemp("hostile")
    (d / "hostile.c").write_text(HOSTILE_C)
    subprocess.run(["riscv64-linux-gnu-gcc", "-static", "-O1", "-o", str(d / "hostile"), str(d / "hostile.c")],
                   check=True, capture_output=True, text=True)
    return (d / "hostile").read_bytes()


def layout(tmp: Path, binary: bytes, cmd: list[str]) -> Path:
    img = make_image("linux/riscv64", [layer_from_files({"hostile": (binary, 0o755), "tmp/.keep": b""})],
                     config={"Entrypoint": ["/hostile"], "Cmd": cmd, "Env": ["PATH=/usr/bin:/bin"]})
    return write_layout(tmp / "layout", {"v1": (make_index([img]), [img])})


def test_the_fallback_confines_hostile_code(tmp_path, binfmt_riscv64, hostile):
    target = tmp_path / "escaped"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    src = LayoutSource(str(layout(tmp_path, hostile, [])), "v1")
    r = smoke(src, Options(mode="qemu", args=(str(target), str(port)), timeout=60))
    assert r.path == "qemu", r
    assert "ESCAPED" not in r.stdout, r.stdout
    assert r.stdout.count(": failed: ") == 4, r.stdout + r.stderr
    assert r.exit_code == 0 and r.ok
    assert not target.exists()
    with pytest.raises(socket.timeout):
        listener.accept()
    listener.close()


def test_no_confinement_means_no_run(tmp_path, binfmt_riscv64, hostile, monkeypatch):
    # A qemu that cannot live inside the image's root (dynamically linked).
    from archport import emulation
    monkeypatch.setattr(emulation, "qemu_binary", lambda platform: "/bin/ls")
    src = LayoutSource(str(layout(tmp_path, hostile, [])), "v1")
    with pytest.raises(sandbox.Unconfined, match=r"refusing to run the image unconfined: .*apt-get install"):
        smoke(src, Options(mode="qemu", args=(str(tmp_path / "x"), "1"), timeout=30))
    assert not (tmp_path / "x").exists()


def _tasks(containerd) -> list[str]:
    return containerd.ctr("tasks", "ls", "-q", namespace="archport-smoke", check=False).stdout.split()


def _ctr_run_pids(address: str) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if d.name.isdigit() and argv[0].endswith(b"ctr") and b"run" in argv and address.encode() in argv:
            pids.append(int(d.name))
    return pids


@pytest.mark.parametrize("how", ["terminal Ctrl-C", "SIGTERM to archport alone"])
def test_an_interrupted_smoke_fails_promptly(tmp_path, containerd, binfmt_riscv64, hostile, how):
    lay = layout(tmp_path, hostile, ["serve"])
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    p = subprocess.Popen([sys.executable, "-m", "archport.cli.main", "smoke", "--containerd-address",
                          containerd.address, "--timeout", "300", f"oci:{lay}:v1"],
                         cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)          # its own process group, like a shell job
    try:
        deadline = time.monotonic() + 120
        while not _tasks(containerd):
            assert p.poll() is None and time.monotonic() < deadline, p.communicate()
            time.sleep(0.2)
        time.sleep(3)                                     # the program has its handlers by now
        # The terminal's signal must not reach the container: ctr (which
        # forwards what it gets to the task) is in a session of its own.
        ctr = _ctr_run_pids(containerd.address)
        assert ctr and all(os.getsid(pid) != os.getsid(p.pid) for pid in ctr), ctr
        start = time.monotonic()
        if how == "terminal Ctrl-C":
            os.killpg(p.pid, signal.SIGINT)               # what the terminal does: the whole group
        else:
            os.kill(p.pid, signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
    assert time.monotonic() - start < 30
    assert p.returncode == 130, out + err
    assert "smoke passed" not in out and "Traceback" not in err, out + err
    assert "interrupted" in err
    assert _tasks(containerd) == []


def test_extraction_is_capped_and_a_deep_tree_leaves_nothing_behind(tmp_path, binfmt_riscv64, hostile):
    from archport.imagefs import TooLarge
    deep = "/".join(["d"] * 3000) + "/f"
    img = make_image("linux/riscv64", [layer_from_files({"hostile": (hostile, 0o755), deep: b"x",
                                                         "big": b"\0" * (2 << 20)})],
                     config={"Entrypoint": ["/hostile"], "Env": ["PATH=/bin"]})
    lay = write_layout(tmp_path / "layout", {"v1": (make_index([img]), [img])})
    parent = tmp_path / "work"
    parent.mkdir(mode=0o700)                            # like port's work directory
    src = LayoutSource(str(lay), "v1")
    with pytest.raises(TooLarge, match="more than 1 MiB; raise the cap with --max-extract-size"):
        smoke(src, Options(mode="qemu", args=("/x", "1"), max_extract=1 << 20, tmp_parent=str(parent)))
    assert list(parent.iterdir()) == []
    r = smoke(src, Options(mode="qemu", args=(str(tmp_path / "x"), "1"), tmp_parent=str(parent)))
    assert r.ok and r.path == "qemu", r
    assert any("d/d/d" in n for n in r.notes)          # the entry the host refused, reported
    assert list(parent.iterdir()) == []


def test_cli_max_extract_size(tmp_path, hostile):
    from tests.support.cli import archport
    lay = layout(tmp_path, hostile, [])
    p = archport("smoke", "--mode", "qemu", "--max-extract-size", "1K", f"oci:{lay}:v1", expect=1)
    errors = [line for line in p.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "--max-extract-size" in errors[0], p.stderr
    p = archport("smoke", "--max-extract-size", "lots", f"oci:{lay}:v1", expect=2)
    assert "--max-extract-size 'lots'" in p.stderr
