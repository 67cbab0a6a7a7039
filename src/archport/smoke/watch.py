"""Watch a running smoke program until its readiness signal, its exit, or the timeout.

Both runners (containerd's ``ctr run`` and the confined qemu fallback) hand
their process here.  Output is read as it comes, so an ``output`` signal ends
the run the moment its regex matches; a network signal (``http``, ``https``,
``dns``) is asked by :mod:`._probe`, started once the program's network
namespace exists (``netns_pid`` returns a process in it) and run inside that
namespace only: the container keeps its own network, never the host's, and
the probe never runs image code.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..catalog.smoke import Signal

_PROBE = str(Path(__file__).with_name("_probe.py"))
_TICK = 0.05


@dataclass(frozen=True, slots=True)
class Watched:
    exit_code: int | None       # None: still running when stopped
    stdout: str
    stderr: str
    timed_out: bool
    ready: bool | None          # None: no signal to wait for
    said: str = ""              # what the signal answered, or why it did not
    seconds: float = 0.0        # from start to ready / exit / timeout


class _Reader(threading.Thread):
    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream, self.data, self.lock = stream, bytearray(), threading.Lock()

    def run(self) -> None:
        for chunk in iter(lambda: self.stream.read1(65536), b""):
            with self.lock:
                self.data += chunk

    def text(self) -> str:
        with self.lock:
            return self.data.decode(errors="replace")


def watch(proc: subprocess.Popen, timeout: float, signal: Signal | None, *,
          netns_pid: Callable[[], int | None] = lambda: None, stop: Callable[[], None]) -> Watched:
    """Wait for ``proc`` (stdout and stderr piped); ``stop`` kills what it runs.

    Interrupted (Ctrl-C, or an error of ours), ``stop`` still runs and the
    exception propagates."""
    started = time.monotonic()
    deadline = started + timeout
    readers = [_Reader(proc.stdout), _Reader(proc.stderr)]
    for r in readers:
        r.start()
    regex = re.compile(signal.expect, re.MULTILINE) if signal is not None and signal.expect else None
    probe: subprocess.Popen | None = None
    ready: bool | None = None if signal is None or signal.kind == "exit" else False
    said, timed_out, stopped = "", False, False
    joins_refused = 0
    try:
        while proc.poll() is None:
            now = time.monotonic()
            if signal is not None and signal.kind == "output" and regex.search(readers[0].text() +
                                                                                readers[1].text()):
                ready, said = True, f"output matched {signal.expect!r}"
                break
            if signal is not None and signal.kind == "running" and now - started >= signal.seconds:
                ready, said = True, f"still running after {signal.seconds:g}s"
                break
            if signal is not None and signal.network:
                if probe is None:
                    pid = netns_pid()
                    if pid:
                        probe = _start_probe(pid, signal, max(deadline - now, 0.1))
                elif probe.poll() is not None:
                    said = _last_line(probe)
                    if probe.returncode == 0:
                        ready, said = True, said.removeprefix("ready: ")
                        break
                    if probe.returncode == 125:
                        # cannot join: the task may have just exited (the
                        # loop sees that next); otherwise it will not work
                        joins_refused += 1
                        if joins_refused >= 3:
                            break
                    probe = None
            if now >= deadline:
                timed_out = True
                break
            time.sleep(_TICK)
        seconds = time.monotonic() - started
        said = _end_probe(probe) or said
        probe = None
        if proc.poll() is None:
            stop()
            stopped = True
        proc.wait()
    finally:
        _end_probe(probe)
        if not stopped and proc.poll() is None:     # interrupted
            stop()
            proc.wait()
    for r in readers:
        r.join(timeout=10)
    out, err = readers[0].text(), readers[1].text()
    if signal is not None and signal.kind == "output" and not ready and regex.search(out + err):
        ready, said = True, f"output matched {signal.expect!r}"       # printed just before it exited
    if signal is not None and signal.network and not ready and not said:
        said = "the program exited before it answered" if not timed_out else "no answer before the timeout"
    code = None if stopped else proc.returncode       # a stopped program has no exit code of its own
    return Watched(code, out, err, timed_out and not ready, ready, said, seconds)


def _end_probe(probe: subprocess.Popen | None) -> str:
    """Stop the probe if it still asks; its last line (why it was not ready)."""
    if probe is None:
        return ""
    if probe.poll() is None:
        probe.kill()
        probe.wait()
    return _last_line(probe)


def _last_line(probe: subprocess.Popen) -> str:
    lines = (probe.stdout.read() or b"").decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


def _start_probe(pid: int, signal: Signal, seconds: float) -> subprocess.Popen:
    spec = {"kind": signal.kind, "port": signal.port, "path": signal.path, "query": signal.query,
            "answer": signal.answer, "seconds": seconds}
    # -I: the probe ignores PYTHON* variables and the user's site directory;
    # it still imports dnspython from archport's own environment.
    return subprocess.Popen([sys.executable, "-I", _PROBE, str(pid), json.dumps(spec)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={}, start_new_session=True)
