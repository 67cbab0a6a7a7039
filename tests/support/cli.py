"""Run archport as a user does: a separate process, its exit code, its output.

Every run fails the test on a Python traceback: bad input and failures are one
line and an exit code, never a crash.  ``env`` is laid over the environment
(``environ``, default this process's); ``expect`` is the exit code to assert,
or None for a caller that checks it itself; ``wrap`` goes before the
interpreter (``("unshare", "-n")``: a network namespace with no network).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"


def archport(*args: str, env: dict | None = None, environ: dict | None = None, timeout: float = 300,
             input: str | None = None, expect: int | None = 0, cwd: Path = REPO,
             wrap: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    base = dict(os.environ if environ is None else environ)
    e = {**base, "PYTHONPATH": f"{SRC}{os.pathsep}{base.get('PYTHONPATH', '')}", **(env or {})}
    p = subprocess.run([*wrap, sys.executable, "-m", "archport.cli.main", *args], capture_output=True, text=True,
                       env=e, timeout=timeout, input=input, cwd=cwd)
    assert "Traceback" not in p.stderr, p.stderr
    if expect is not None:
        assert p.returncode == expect, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def archport_json(*args: str, **kw) -> dict:
    p = archport(*args, "--json", **kw)
    return json.loads(p.stdout)
