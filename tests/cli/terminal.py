"""A pseudo-terminal for archport's stderr, as a person's shell gives it."""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
import threading

from tests.support.cli import SRC


def on_tty(*args: str, env: dict | None = None, columns: int = 100, timeout: float = 600) -> tuple[int, str, str]:
    """Run archport with stderr on a pseudo-terminal (stdout a pipe), as in a
    shell that redirects the result: (exit code, stdout, what the terminal got).
    ``env`` replaces this process's environment; the terminal is ``columns`` wide."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    base = os.environ if env is None else env
    env = {k: v for k, v in base.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "COLUMNS")}
    env.update(PYTHONPATH=str(SRC), TERM="xterm-256color")
    p = subprocess.Popen([sys.executable, "-m", "archport.cli.main", *args], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    seen: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:             # EIO: the child closed the terminal
                return
            if not chunk:
                return
            seen.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    out, _ = p.communicate(timeout=timeout)
    reader.join(timeout=10)
    os.close(master)
    return p.returncode, out.decode(), b"".join(seen).decode(errors="replace")


def plain(tty: str) -> str:
    """What the terminal got, without its control sequences."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", tty)
