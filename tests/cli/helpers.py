"""Run archport as a user does: a separate process, its exit code, its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def archport(*args: str, env: dict | None = None, timeout: float = 300, input: str | None = None,
             expect: int | None = 0) -> subprocess.CompletedProcess:
    e = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", **(env or {})}
    p = subprocess.run([sys.executable, "-m", "archport.cli.main", *args], capture_output=True, text=True,
                       env=e, timeout=timeout, input=input)
    assert "Traceback" not in p.stderr, p.stderr
    if expect is not None:
        assert p.returncode == expect, f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def archport_json(*args: str, **kw) -> dict:
    p = archport(*args, "--json", **kw)
    return json.loads(p.stdout)


def skopeo_raw(ref: str, *extra: str) -> bytes:
    return subprocess.run(["skopeo", "inspect", "--raw", *extra, ref], check=True, capture_output=True).stdout
