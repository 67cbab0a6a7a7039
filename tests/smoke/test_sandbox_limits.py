"""The emulated fallback bounds what image code may write and how many
processes it may run: a real riscv64 program under qemu-user tries to write
300 MiB under ``--max-extract-size 64M``, and to fork without end."""

from __future__ import annotations

import re
import subprocess

import pytest

from archport.layout import LayoutSource
from archport.smoke import sandbox
from archport.smoke.run import Options, smoke
from standins.images import layer_from_files, make_image, make_index, write_layout
from tests.support.cli import archport

GREEDY_C = r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char block[1 << 20];

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "write") == 0) {
        long total = 0;
        int files = 0;
        /* many files, so a per-file limit alone would not stop it */
        for (int i = 0; i < 30 && total < (300L << 20); i++) {
            char name[64];
            snprintf(name, sizeof name, "/big-%d", i);
            int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0) { printf("open %s: %s\n", name, strerror(errno)); break; }
            files++;
            int stop = 0;
            for (int j = 0; j < 10; j++) {
                ssize_t n = write(fd, block, sizeof block);
                if (n < 0) { printf("write: %s\n", strerror(errno)); stop = 1; break; }
                total += n;
                if (n < (ssize_t)sizeof block) { stop = 1; break; }
            }
            close(fd);
            if (stop) break;
        }
        printf("wrote %ld bytes in %d files\n", total, files);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "fork") == 0) {
        int n = 0;
        for (; n < 2000; n++) {
            pid_t p = fork();
            if (p < 0) { printf("fork: %s\n", strerror(errno)); break; }
            if (p == 0) { pause(); _exit(0); }
        }
        printf("forked %d\n", n);
        fflush(stdout);
        return 0;       /* pid 1 of the jail: its exit ends the others */
    }
    return 2;
}
"""


@pytest.fixture(scope="module")
def greedy(tmp_path_factory):
    d = tmp_path_factory.mktemp("greedy")
    (d / "greedy.c").write_text(GREEDY_C)
    subprocess.run(["riscv64-linux-gnu-gcc", "-static", "-O1", "-o", str(d / "greedy"), str(d / "greedy.c")],
                   check=True, capture_output=True, text=True)
    img = make_image("linux/riscv64", [layer_from_files({"greedy": ((d / "greedy").read_bytes(), 0o755),
                                                         "tmp/.keep": b""})],
                     config={"Entrypoint": ["/greedy"], "Env": ["PATH=/bin"]})
    return write_layout(d / "layout", {"v1": (make_index([img]), [img])})


def test_writes_are_capped_by_max_extract_size(greedy, binfmt_riscv64, tmp_path):
    p = archport("smoke", "--mode", "qemu", "--max-extract-size", "64M", "--json", f"oci:{greedy}:v1", "write",
                 expect=None)
    m = re.search(r"wrote (\d+) bytes in (\d+) files", p.stdout)
    assert m, p.stdout + p.stderr
    assert int(m.group(1)) <= 64 << 20, p.stdout
    assert "No space left on device" in p.stdout or "File too large" in p.stdout, p.stdout


def test_the_extracted_root_is_not_written(greedy, binfmt_riscv64, tmp_path):
    parent = tmp_path / "work"
    parent.mkdir(mode=0o700)
    r = smoke(LayoutSource(str(greedy), "v1"), Options(mode="qemu", args=("write",), max_extract=8 << 20,
                                                        tmp_parent=str(parent)))
    assert r.path == "qemu" and re.search(r"wrote \d+ bytes", r.stdout), r
    assert int(re.search(r"wrote (\d+)", r.stdout).group(1)) <= 8 << 20
    assert list(parent.iterdir()) == []                  # and nothing is left behind


def test_the_number_of_processes_is_capped(greedy, binfmt_riscv64, monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_PROCESSES", 24)
    r = smoke(LayoutSource(str(greedy), "v1"), Options(mode="qemu", args=("fork",), timeout=120))
    m = re.search(r"forked (\d+)", r.stdout)
    assert m and r.path == "qemu", r
    assert int(m.group(1)) < 24 and "Resource temporarily unavailable" in r.stdout, r.stdout
