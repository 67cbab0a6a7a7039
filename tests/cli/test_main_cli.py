"""The entry point itself: --version answers without loading the commands
(building every command's parser imports all of archport: 0.8 s here)."""

from __future__ import annotations

import os
import subprocess
import sys

from archport import __version__

from tests.support.cli import SRC, archport


def test_version():
    assert archport("--version").stdout.strip() == f"archport {__version__}"


def test_version_imports_no_command_module():
    code = ("import sys; from archport.cli.main import main; main(['--version']); "
            "print(sorted(m for m in sys.modules if m.startswith('archport.cli.cmd_')))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONPATH": str(SRC)})
    assert p.stdout.splitlines() == [f"archport {__version__}", "[]"], p.stdout


def test_the_error_mapper_redacts_what_it_did_not_make(monkeypatch, capsys):
    """An exception that is not ours (so never redacted at birth) still
    reaches the screen without the secret it quotes."""
    from archport.cli import cmd_catalog, main as entry

    def boom(args, ctx):
        raise ValueError("GET https://bob:hunter2-xyz@reg.example/v2/ said Authorization: Basic Ym9iOmh1bnRlcjI=")

    monkeypatch.setattr(cmd_catalog, "run", boom)
    for extra in ([], ["--json"]):
        assert entry.main(["catalog", "list", *extra]) == 1
        out = capsys.readouterr()
        assert "hunter2-xyz" not in out.out + out.err and "Ym9iOmh1bnRlcjI=" not in out.out + out.err
        assert "internal error" in out.out + out.err and "bob:<redacted>@reg.example" in out.out + out.err


def test_common_options_are_checked_when_read():
    for argv, word in ((["--jobs", "0", "catalog", "list"], "--jobs"),
                       (["--plain-http", "", "catalog", "list"], "--plain-http"),
                       (["--mirror", "docker.io=127.0.0.1:70000", "catalog", "list"], "--mirror")):
        p = archport(*argv, expect=2)
        assert word in p.stderr and len(p.stderr.strip().splitlines()) == 1
