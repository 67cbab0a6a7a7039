"""What a smoke run ended with, as data: :class:`SmokeResult` and its :class:`Check`\\ s.

``SmokeResult.ok`` is the verdict.  ``checks`` says what it was made of, one
typed record per thing judged (name, passed, expected, observed, seconds), so
that ``--json`` readers never parse a sentence:

- ``start``: the program could not be started (``error``);
- ``ready``: the readiness signal (what it asked, what it was answered);
- ``exit``: the exit code, 0 expected; ``output``: the ``expect`` regex and
  the first text it matched;
- a kernel run's own (:func:`archport.smoke.vm.judge`): ``boot``, ``set-up``,
  ``running`` or ``exit``, one ``then output`` per expected line, ``then ran``.

The checks are derived from the same fields as ``ok``, and every check of an
``ok`` run passed; a failed run has at least one that did not.
"""

from __future__ import annotations

import re
import signal as signals
from dataclasses import dataclass

# A process killed by signal N is reported as exit status 128+N: by containerd
# for a task (runc's wait status, as the shell spells it), by our jail
# (smoke/_jail.py) and by the guest's init (the shell's ``$?``).  A program
# that exits 137 on its own reads the same; the kubelet has the same blind spot.
_SIGNALLED = 128


@dataclass(frozen=True, slots=True)
class Check:
    """One thing a smoke run judged."""

    name: str
    passed: bool
    expected: str | int | None = None
    observed: str | int | None = None
    seconds: float | None = None        # how long it took to see, when known

    def to_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "expected": self.expected, "observed": self.observed,
                "seconds": None if self.seconds is None else round(self.seconds, 2)}


def exit_signal(code: int | None) -> str | None:
    """The signal a 128+N exit status names (``SIGKILL`` for 137), else None."""
    if code is None or code <= _SIGNALLED:
        return None
    try:
        return signals.Signals(code - _SIGNALLED).name
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class SmokeResult:
    image: str
    platform: str
    path: str                     # "containerd", "qemu", "kernel" or "none" (not run)
    argv: tuple[str, ...]
    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    expect: str | None = None
    matched: bool | None = None
    error: str = ""               # why it failed before or instead of running
    notes: tuple[str, ...] = ()
    signal: str = ""              # the readiness signal waited for ("" none: exit or timeout)
    ready: bool | None = None     # None: no signal but the exit (and expect)
    said: str = ""                # what the signal answered, or why it did not
    seconds: float = 0.0          # from start to ready, exit or timeout
    upstream: "SmokeResult | None" = None   # the same smoke of a platform the host runs (see compare)
    verdict: str = ""             # when it failed: like upstream, or only emulated (see compare)
    judged: tuple[Check, ...] = ()          # the runner's own checks (a kernel run's, see .vm.judge)

    @property
    def ok(self) -> bool:
        if self.error:
            return False
        if self.ready is not None:
            return self.ready
        if self.timed_out:  # a server that printed what we wanted, then kept running
            return bool(self.matched)
        return self.exit_code == 0 and self.matched is not False

    @property
    def checks(self) -> tuple[Check, ...]:
        """What :attr:`ok` was judged on, check by check (see the module docstring)."""
        if self.error:
            return (Check("start", False, None, self.error),)
        if self.ready is not None:
            return self.judged or (Check("ready", self.ready, self.signal or None, self.said or None,
                                         self.seconds),)
        # Judged by the exit and the output; a kernel run's own exit check
        # is replaced by the one below (a timed-out run is judged by its output).
        kept = tuple(c for c in self.judged if c.name != "exit")
        output = (self._output_check(),) if self.expect is not None else ()
        if self.timed_out:
            return kept + (output or (Check("exit", False, 0, None, self.seconds),))
        return kept + (Check("exit", self.exit_code == 0, 0, self.exit_code, self.seconds),) + output

    def _output_check(self) -> Check:
        assert self.expect is not None
        m = re.search(self.expect, self.stdout + self.stderr, re.MULTILINE) if self.matched else None
        return Check("output", self.matched is not False, self.expect, m.group(0) if m else None)

    def to_dict(self) -> dict:
        return {"image": self.image, "platform": self.platform, "path": self.path, "argv": list(self.argv),
                "ok": self.ok, "exitCode": self.exit_code, "timedOut": self.timed_out,
                "expect": self.expect, "matched": self.matched, "error": self.error,
                "stdout": self.stdout, "stderr": self.stderr, "notes": list(self.notes),
                "signal": self.signal or None, "ready": self.ready, "said": self.said,
                "seconds": round(self.seconds, 2), "verdict": self.verdict or None,
                "exit": {"code": self.exit_code, "signal": exit_signal(self.exit_code),
                         "timedOut": self.timed_out},
                "checks": [c.to_dict() for c in self.checks],
                "upstream": self.upstream.to_dict() if self.upstream is not None else None}


__all__ = ["Check", "SmokeResult", "exit_signal"]
