"""The entry point itself: --version answers without loading the commands
(building every command's parser imports all of archport: 0.8 s here)."""

from __future__ import annotations

import os
import subprocess
import sys

from archport import __version__

from .helpers import SRC, archport


def test_version():
    assert archport("--version").stdout.strip() == f"archport {__version__}"


def test_version_imports_no_command_module():
    code = ("import sys; from archport.cli.main import main; main(['--version']); "
            "print(sorted(m for m in sys.modules if m.startswith('archport.cli.cmd_')))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONPATH": str(SRC)})
    assert p.stdout.splitlines() == [f"archport {__version__}", "[]"], p.stdout
