"""archport deploy's bad input, as a user meets it: one line, exit 2, no traceback."""

from __future__ import annotations

import io
import tarfile

import pytest

from tests.support.cli import archport


@pytest.fixture
def tar_ok(tmp_path):
    p = tmp_path / "images.tar"
    with tarfile.open(p, "w") as t:
        ti = tarfile.TarInfo("index.json")
        ti.size = 2
        t.addfile(ti, io.BytesIO(b"{}"))
    return p


def one_line_exit_2(*args):
    p = archport("deploy", *args, expect=2, timeout=120)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and p.stdout == "", p.stderr + p.stdout
    return lines[0]


def test_unknown_host():
    # Not bad input: the name may be right and its DNS down; the operation failed (README: exit 1).
    p = archport("deploy", "--host", "root@no-such-board.invalid", "--registry", "127.0.0.1:5000", "--dry-run",
                 expect=1, timeout=120)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and p.stdout == "", p.stderr + p.stdout
    assert "Could not resolve hostname no-such-board.invalid" in lines[0]


def test_inventory_that_does_not_parse(tmp_path):
    inv = tmp_path / "inv.yaml"
    inv.write_text("all: {hosts: [\n")
    assert "not a YAML inventory" in one_line_exit_2("--inventory", str(inv), "--registry", "127.0.0.1:5000")


def test_registry_with_a_bad_scheme():
    line = one_line_exit_2("--host", "board", "--registry", "ftp://10.0.0.5:5000/riscv")
    assert "scheme 'ftp' is not http or https" in line
    line = one_line_exit_2("--host", "board", "--registry", "oci:/tmp/layout")
    assert "'oci' is not a registry scheme" in line


def test_airgap_that_is_not_an_archive(tmp_path):
    bogus = tmp_path / "images.tar"
    bogus.write_text("this is not a tar archive\n" * 40)
    assert "not a tar archive" in one_line_exit_2("--host", "board", "--airgap", str(bogus))
    bad_suffix = tmp_path / "images.zip"
    bad_suffix.write_bytes(b"PK\x03\x04")
    assert "k3s imports only" in one_line_exit_2("--host", "board", "--airgap", str(bad_suffix))
    assert "no such file" in one_line_exit_2("--host", "board", "--airgap", str(tmp_path / "missing.tar"))


@pytest.mark.parametrize("host, words", [("", "expected [USER@]HOST[:PORT]"), ("board:70000", "not between 1 and 65535")])
def test_bad_host_values(host, words):
    assert words in one_line_exit_2("--host", host, "--registry", "127.0.0.1:5000")


def test_no_boards_and_both_sources(tar_ok):
    assert "no boards" in one_line_exit_2("--registry", "127.0.0.1:5000")
    p = archport("deploy", "--host", "b", "--registry", "127.0.0.1:5000", "--airgap", str(tar_ok), expect=2)
    assert "not allowed with argument" in p.stderr
