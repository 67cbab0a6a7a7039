"""A catalog smoke recipe turned into run options, and a run said in one line.

The catalog (:mod:`archport.catalog.smoke`) says, per component, which
arguments, files and readiness signal prove the image works.  Arguments the
user gives win over the recipe's: they replace its arguments and its signal
(a user's ``--help`` is judged by its exit, not by a DNS answer).
"""

from __future__ import annotations

import dataclasses

from ..catalog.smoke import Recipe
from .compare import EMULATION, LIKE_UPSTREAM, passes
from .outcome import SmokeResult
from .run import Options


def apply(opts: Options, recipe: Recipe | None) -> Options:
    """``opts`` with the recipe's arguments, files, directories, env and
    signal, unless ``opts`` already has arguments of its own.  A recipe's
    kernel needs (``recipe.kernel``) are the caller's to prepare
    (:func:`archport.smoke.vm.prepare`: it fetches a kernel)."""
    if recipe is None or opts.args is not None:
        return opts
    return dataclasses.replace(opts, args=recipe.args, signal=recipe.signal, files=recipe.files,
                               writable=recipe.writable, env=recipe.env)


def summary(r: SmokeResult, timeout: float) -> tuple[str, str]:
    """(the port table's smoke cell, the next step when it failed: "" when it
    passed, :func:`.compare.passes` with port's timeout rule)."""
    if passes(r, timeout_passes=True):
        if r.ready and r.path == "kernel":
            return f"ok ({r.said}; on the target's kernel)", ""
        if r.ready:
            if r.signal.startswith("still running"):
                return f"ok ({r.signal}, a server)", ""
            return f"ok (ready after {r.seconds:.1f}s via {r.path}: {r.said})", ""
        if r.timed_out:
            return f"ok (still running after {timeout:g}s, a server)", ""
        return f"ok (exit 0 via {r.path})", ""
    if r.error:
        cell = f"failed: {r.error}"
    elif r.ready is False:
        cell = f"failed: not ready ({r.said or r.signal})" + (f", exit {r.exit_code}" if r.exit_code is not None
                                                              else "")
    elif r.timed_out:
        cell = f"failed: still running after {timeout:g}s, output not matched"
    else:
        cell = f"failed: exit {r.exit_code}" + (", output not matched" if r.matched is False else "")
    if r.verdict.startswith(LIKE_UPSTREAM):
        return f"{cell}; {r.verdict}", (f"{LIKE_UPSTREAM}: run the same smoke with arguments the program accepts "
                                        "(--smoke-args), or fix the catalog's recipe; nothing was pushed")
    if r.verdict and not r.verdict.startswith(EMULATION):
        return f"{cell}; {r.verdict}", "compare the two runs (archport smoke --json); nothing was pushed"
    if r.verdict.startswith(EMULATION + ":"):
        return f"{cell}; {r.verdict}", "the image does not run under emulation; nothing was pushed"
    return cell, "the image does not run under emulation; nothing was pushed"


__all__ = ["apply", "summary"]
