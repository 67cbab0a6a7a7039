"""What runs inside the emulated machine of a kernel smoke, and reading what it said.

The initramfs's ``/.archport/init`` (the kernel's first process) is a shell
script for archport's own static busybox, never the image's shell: it mounts
``/proc``, ``/sys`` and ``/dev``, brings ``lo`` up, inserts the recipe's
modules in order, sets its sysctls, starts the image's program the way the
kubelet would (its argv, the image's Env plus the recipe's, its working
directory), waits for the signal, runs ``then``'s commands, and reports on
the console.  Every report line starts with a per-run marker, and the
outputs travel base64-encoded, so kernel messages on the same console
cannot be mistaken for them.

Pure: the script is text built from values, and :func:`read_console` parses
the console; :mod:`.vm` does the I/O.
"""

from __future__ import annotations

import base64
import binascii
import shlex
from dataclasses import dataclass

BB = "/.archport/busybox"
TICK = 0.2          # seconds between the init's looks at the program


@dataclass(frozen=True, slots=True)
class Plan:
    argv: tuple[str, ...]                    # as the kubelet gives it: argv[0] looked up in env's PATH
    env: tuple[tuple[str, str], ...]         # the program's whole environment
    workdir: str
    modules: tuple[str, ...]                 # module names, in load order (files /.archport/modules/NAME.ko)
    sysctls: tuple[tuple[str, str], ...]
    wait: str                                # "exit" or "running"
    seconds: float                           # running: how long; exit: the timeout
    then: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Report:
    booted: bool                             # the init started
    problems: tuple[str, ...]                # what the init could not set up
    state: str                               # "exited", "running", "timeout" or "" (never said)
    exit_code: int | None
    stdout: str
    stderr: str
    then: tuple[tuple[tuple[str, ...], int | None, str], ...]   # (argv, exit code, output)


def script(plan: Plan, marker: str) -> str:
    """The init script for ``plan``; ``marker`` prefixes every report line."""
    q = shlex.quote
    env = " ".join(q(f"{k}={v}") for k, v in plan.env)
    ticks = max(1, round(plan.seconds / TICK))
    lines = [
        f"#!{BB} sh",
        "# archport smoke: the emulated machine's first process (generated)",
        f"B={BB}",
        f"say() {{ $B echo {q(marker)} \"$@\"; }}",
        "$B mkdir -p /proc /sys /dev /tmp /run",
        "$B mount -t proc proc /proc && $B mount -t sysfs sysfs /sys && $B mount -t devtmpfs devtmpfs /dev"
        " || say problem mounting /proc, /sys or /dev",
        "$B ip link set lo up || say problem bringing lo up",
    ]
    for m in plan.modules:
        lines.append(f"$B insmod /.archport/modules/{q(m)}.ko || say problem insmod {q(m)}")
    for k, v in plan.sysctls:
        path = "/proc/sys/" + k.replace(".", "/")
        lines.append(f"$B echo {q(v)} > {q(path)} || say problem sysctl {q(k)}")
    lines += [
        "say booted",
        f"cd {q(plan.workdir)} || say problem cd {q(plan.workdir)}",
        f"( $B env -i {env} {' '.join(q(a) for a in plan.argv)} </dev/null >/.archport/stdout 2>/.archport/stderr;"
        " $B echo $? >/.archport/rc ) &",
        "n=0",
        f"while [ ! -e /.archport/rc ] && [ $n -lt {ticks} ]; do $B sleep {TICK}; n=$((n + 1)); done",
        "if [ -e /.archport/rc ]; then say exited \"$($B cat /.archport/rc)\"",
        f"elif [ {q(plan.wait)} = running ]; then say running; else say timeout; fi",
        "say stdout \"$($B base64 /.archport/stdout | $B tr -d '\\n')\"",
        "say stderr \"$($B base64 /.archport/stderr | $B tr -d '\\n')\"",
    ]
    for i, cmd in enumerate(plan.then):
        lines += [
            f"$B env -i {env} {' '.join(q(a) for a in cmd)} </dev/null >/.archport/then.{i} 2>&1",
            f"say then {i} $? \"$($B base64 /.archport/then.{i} | $B tr -d '\\n')\"",
        ]
    lines += ["say end", "$B sync", "$B poweroff -f", ""]
    return "\n".join(lines)


def read_console(text: str, marker: str, then: tuple[tuple[str, ...], ...]) -> Report:
    """What the init reported on the console (the rest is the kernel's)."""
    booted, problems, state, code = False, [], "", None
    out = {"stdout": "", "stderr": ""}
    results: dict[int, tuple[int | None, str]] = {}
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        at = line.find(marker + " ")
        if at < 0:
            continue
        word, _, rest = line[at + len(marker) + 1:].partition(" ")
        if word == "booted":
            booted = True
        elif word == "problem":
            problems.append(rest)
        elif word == "exited":
            state, code = "exited", _int(rest)
        elif word in ("running", "timeout"):
            state = word
        elif word in out:
            out[word] = _decode(rest)
        elif word == "then":
            idx, _, tail = rest.partition(" ")
            rc, _, b64 = tail.partition(" ")
            if idx.isdigit():
                results[int(idx)] = (_int(rc), _decode(b64))
    done = tuple((cmd, *results.get(i, (None, ""))) for i, cmd in enumerate(then) if i in results)
    return Report(booted, tuple(problems), state, code, out["stdout"], out["stderr"], done)


def _int(s: str) -> int | None:
    s = s.strip()
    return int(s) if s.lstrip("-").isdigit() else None


def _decode(b64: str) -> str:
    try:
        return base64.b64decode(b64.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return "(garbled on the console)"


__all__ = ["BB", "Plan", "Report", "read_console", "script"]
