"""A failed smoke, compared with the upstream platform the host runs natively.

A smoke run can fail because emulation (or the port) broke the program, or
because the recipe asks something the program never does: metrics-server
with its default arguments panics creating certificates in a read-only
working directory on amd64 exactly as on riscv64.  Only running upstream's
own platform the same way tells the two apart, so when the host's platform
is in the upstream index we run it under the same runtime, with the same
arguments, files and signal, and say which case it is:

- it fails there too, the same way (same exit code, or both never ready):
  "fails like upstream: the recipe is wrong";
- it passes there: the image does not run under emulation;
- it fails there differently: both outcomes are reported, no verdict.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

from ..errors import ArchportError
from ..oci import Index
from ..platform import Platform, from_uname
from ..store import Source
from .outcome import SmokeResult
from .run import Options, smoke

LIKE_UPSTREAM = "fails like upstream: the recipe is wrong"
EMULATION = "does not run under emulation"


def host_platform() -> Platform:
    return from_uname(os.uname().machine)


def runnable_platform(upstream: Source, target: Platform) -> Platform | None:
    """The host's own platform when ``upstream`` offers it (and it is not the target)."""
    host = host_platform()
    if host.matches(target):
        return None
    try:
        top = upstream.resolve()
    except ArchportError:
        return None
    if isinstance(top, Index):
        return host if top.find(host) is not None else None
    return None


def passes(r: SmokeResult, timeout_passes: bool = False) -> bool:
    """``r.ok``; with ``timeout_passes`` (port's rule, ``--smoke-timeout``), a
    run with neither signal nor expect still going at the timeout passes too:
    a server nothing says how to ask."""
    if r.ok:
        return True
    return timeout_passes and r.timed_out and r.ready is None and r.matched is None and not r.error


def same_failure(a: SmokeResult, b: SmokeResult) -> bool:
    if a.ok or b.ok:
        return False
    if a.error or b.error:
        return a.error == b.error
    if a.ready is False and b.ready is False and a.signal:
        return True           # neither ever gave the signal
    return (a.exit_code, a.timed_out) == (b.exit_code, b.timed_out)


def judge(result: SmokeResult, upstream: SmokeResult | None, why_not: str = "") -> SmokeResult:
    """``result`` with its verdict and the upstream run attached (pure)."""
    if result.ok:
        return result
    if upstream is None:
        note = f"not compared with upstream: {why_not}" if why_not else ""
        return dataclasses.replace(result, verdict=EMULATION,
                                   notes=result.notes + ((note,) if note else ()))
    how = _outcome(upstream)
    if upstream.ok:
        verdict = f"{EMULATION}: upstream {upstream.platform} passes the same smoke ({how})"
    elif same_failure(result, upstream):
        verdict = f"{LIKE_UPSTREAM} (upstream {upstream.platform} fails the same way: {how})"
    else:
        verdict = (f"fails differently from upstream {upstream.platform} ({how}, here {_outcome(result)}): "
                   "check the recipe, then emulation")
    return dataclasses.replace(result, upstream=upstream, verdict=verdict, notes=result.notes + (verdict,))


def _outcome(r: SmokeResult) -> str:
    if r.error:
        return r.error
    if r.ready is not None:
        return ("ready: " if r.ready else "never ready: ") + (r.said or r.signal)
    if r.timed_out:
        return "still running at the timeout"
    return f"exit {r.exit_code}" + ("" if r.matched is not False else ", output not matched")


def smoke_compared(source: Source, opts: Options, *, upstream: Source | None = None,
                   progress: Callable[[str], None] | None = None, timeout_passes: bool = False) -> SmokeResult:
    """:func:`~.run.smoke`, and when it fails the same smoke of the host's
    platform of ``upstream`` (default: ``source``'s own index) to judge it."""
    result = smoke(source, opts, progress=progress)
    if passes(result, timeout_passes) or result.path == "none":
        return result           # not run (wrong ELF, no program): nothing to compare
    if opts.boot is not None:
        return judge(result, None, "a kernel run boots the target's kernel only")
    up = upstream if upstream is not None else source
    host = runnable_platform(up, opts.platform)
    if host is None:
        return judge(result, None, f"no {host_platform()} image in {up.name}")
    if progress:
        progress(f"smoke failed; running upstream's {host} the same way to compare")
    try:
        theirs = smoke(up, dataclasses.replace(opts, platform=host), progress=None)
    except ArchportError as e:
        return judge(result, None, str(e))
    return judge(result, theirs)


__all__ = ["EMULATION", "LIKE_UPSTREAM", "judge", "passes", "runnable_platform", "same_failure", "smoke_compared"]
