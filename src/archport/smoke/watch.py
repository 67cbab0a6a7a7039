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
from .outcome import Check

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
    checks: tuple[Check, ...] = ()   # a kernel run's own checks (.vm.judge); others are judged by .outcome


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


class _Asker:
    """Asks the readiness signal once a tick: the output so far, the time
    running, or a probe in the program's network namespace."""

    def __init__(self, signal: Signal | None, readers: list[_Reader], netns_pid: Callable[[], int | None],
                 started: float, deadline: float) -> None:
        self.signal, self.readers, self.netns_pid = signal, readers, netns_pid
        self.started, self.deadline = started, deadline
        self.regex = re.compile(signal.expect, re.MULTILINE) if signal is not None and signal.expect else None
        self.probe: subprocess.Popen | None = None
        self.ready: bool | None = None if signal is None or signal.kind == "exit" else False
        self.said, self.timed_out, self.joins_refused = "", False, 0

    def wait(self, proc: subprocess.Popen) -> None:
        """Until ``proc`` exits, the signal is seen, it cannot be asked, or the deadline."""
        while proc.poll() is None:
            now = time.monotonic()
            if self._seen(now):
                return
            if now >= self.deadline:
                self.timed_out = True
                return
            time.sleep(_TICK)

    def _seen(self, now: float) -> bool:
        """True to stop waiting: the signal was seen, or cannot be asked."""
        sig = self.signal
        if sig is not None and sig.kind == "output" and self._matches():
            self.ready, self.said = True, f"output matched {sig.expect!r}"
            return True
        if sig is not None and sig.kind == "running" and now - self.started >= sig.seconds:
            self.ready, self.said = True, f"still running after {sig.seconds:g}s"
            return True
        if sig is None or not sig.network:
            return False
        if self.probe is None:
            pid = self.netns_pid()
            if pid:
                self.probe = _start_probe(pid, sig, max(self.deadline - now, 0.1))
            return False
        if self.probe.poll() is None:
            return False
        self.said = _last_line(self.probe)
        code, self.probe = self.probe.returncode, None
        if code == 0:
            self.ready, self.said = True, self.said.removeprefix("ready: ")
            return True
        if code == 125:
            # cannot join: the task may have just exited (the loop sees
            # that next); otherwise it will not work
            self.joins_refused += 1
            return self.joins_refused >= 3
        return False

    def _matches(self) -> bool:
        assert self.regex is not None
        return self.regex.search(self.readers[0].text() + self.readers[1].text()) is not None

    def end_probe(self) -> None:
        """Stop a probe still asking; its last line says why it was not ready."""
        self.said = _end_probe(self.probe) or self.said
        self.probe = None

    def outcome(self, code: int | None, seconds: float) -> Watched:
        out, err = self.readers[0].text(), self.readers[1].text()
        sig = self.signal
        if sig is not None and sig.kind == "output" and not self.ready and self._matches():
            self.ready, self.said = True, f"output matched {sig.expect!r}"   # printed just before it exited
        if sig is not None and sig.network and not self.ready and not self.said:
            self.said = "no answer before the timeout" if self.timed_out else "the program exited before it answered"
        return Watched(code, out, err, self.timed_out and not self.ready, self.ready, self.said, seconds)


def watch(proc: subprocess.Popen, timeout: float, signal: Signal | None, *,
          netns_pid: Callable[[], int | None] = lambda: None, stop: Callable[[], None]) -> Watched:
    """Wait for ``proc`` (stdout and stderr piped); ``stop`` kills what it runs.

    Interrupted (Ctrl-C, or an error of ours), ``stop`` still runs and the
    exception propagates."""
    started = time.monotonic()
    readers = [_Reader(proc.stdout), _Reader(proc.stderr)]
    for r in readers:
        r.start()
    asker = _Asker(signal, readers, netns_pid, started, started + timeout)
    stopped = False
    try:
        asker.wait(proc)
        seconds = time.monotonic() - started
        asker.end_probe()
        if proc.poll() is None:
            stop()
            stopped = True
        proc.wait()
    finally:
        asker.end_probe()
        if not stopped and proc.poll() is None:     # interrupted
            stop()
            proc.wait()
    for r in readers:
        r.join(timeout=10)
    # a stopped program has no exit code of its own
    return asker.outcome(None if stopped else proc.returncode, seconds)


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
