"""``journalctl -u k3s`` on the board: the kubelet's, containerd's and the
stand-in's own log lines, merged by time, in journald's ``short`` format
(``Nov 27 04:40:37 board k3s[812]: <line>``, journalctl(1) --output=short).

On a real k3s node the kubelet runs inside the k3s process, so its klog
lines are the k3s unit's journal; the bed runs the kubelet and containerd as
their own processes, so this shim puts their logs back under the k3s unit.
The merge is pure (:func:`merge`); :func:`main` reads the files.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from typing import Iterable

# klog header: Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg (k8s.io/klog/v2)
_KLOG = re.compile(r"^[IWEF](\d{2})(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d+)")
# logrus text: time="2026-11-27T04:40:37.123456789Z" (containerd, k3s)
_LOGRUS = re.compile(r'^time="(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?')


def timestamp(line: str, year: int) -> dt.datetime | None:
    m = _LOGRUS.match(line)
    if m:
        y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
        return dt.datetime(y, mo, d, h, mi, s, int((m.group(7) or "0")[:6].ljust(6, "0")))
    m = _KLOG.match(line)
    if m:
        mo, d, h, mi, s = (int(x) for x in m.groups()[:5])
        return dt.datetime(year, mo, d, h, mi, s, int(m.group(6)[:6].ljust(6, "0")))
    return None


def merge(sources: Iterable[Iterable[str]], year: int) -> list[tuple[dt.datetime, str]]:
    """All lines with a time (a line without one takes its predecessor's), by time."""
    out = []
    for n, lines in enumerate(sources):
        last = dt.datetime(year, 1, 1)
        for i, line in enumerate(lines):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            last = timestamp(line, year) or last
            out.append((last, n, i, line))
    out.sort()
    return [(t, line) for t, _, _, line in out]


def short(entries: list[tuple[dt.datetime, str]], host: str, ident: str, pid: int) -> list[str]:
    return [f"{t.strftime('%b %d %H:%M:%S')} {host} {ident}[{pid}]: {line}" for t, line in entries]


def parse_args(argv: list[str]) -> dict:
    """The journalctl options doctor and people use: -u UNIT (repeatable),
    -n N / --lines=N, --no-pager, -q, -f is refused (no follow on the bed)."""
    opts = {"units": [], "lines": None, "follow": False}
    it = iter(argv)
    for a in it:
        if a in ("-u", "--unit"):
            opts["units"].append(next(it, ""))
        elif a.startswith("--unit="):
            opts["units"].append(a.split("=", 1)[1])
        elif a.startswith("-u") and len(a) > 2:
            opts["units"].append(a[2:])
        elif a in ("-n", "--lines"):
            opts["lines"] = int(next(it, "10"))
        elif a.startswith("--lines="):
            opts["lines"] = int(a.split("=", 1)[1])
        elif a.startswith("-n") and len(a) > 2:
            opts["lines"] = int(a[2:])
        elif a in ("-f", "--follow"):
            opts["follow"] = True
        elif a in ("--no-pager", "-q", "--quiet", "-l", "--full", "-a", "--all", "-x", "-e", "--pager-end",
                   "-o", "--output=short") or a.startswith("-xe"):
            if a == "-o":
                next(it, "")
        # other options are accepted and ignored, as a pager-less journalctl would print the same lines
    return opts


def select(entries: list[str], lines: int | None) -> list[str]:
    return entries if lines is None else entries[-lines:] if lines > 0 else []


def main(argv: list[str], files: list[str], host: str, pid: int) -> int:
    opts = parse_args(argv)
    units = {u.removesuffix(".service") for u in opts["units"]}
    if opts["follow"]:
        print("journalctl: --follow is not served by the archport test bed's journal", file=sys.stderr)
        return 1
    if units and not units & {"k3s", "k3s-agent"}:
        print("-- No entries --")
        return 0
    texts = []
    for f in files:
        try:
            with open(f, errors="replace") as fh:
                texts.append(fh.readlines())
        except OSError:
            texts.append([])
    year = dt.datetime.now(dt.timezone.utc).year
    for line in select(short(merge(texts, year), host, "k3s", pid), opts["lines"]):
        print(line)
    return 0
