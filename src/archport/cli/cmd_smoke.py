"""``archport smoke IMAGE [--platform P] [--expect REGEX] [--timeout S] [-- ARGS…]``."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import signal
from contextlib import contextmanager
from pathlib import Path

from .. import platform as platforms
from .. import reference
from ..catalog import load
from ..catalog.smoke import KernelRun
from ..errors import BadInput
from ..progress import phase
from ..smoke import vm
from ..smoke.containerd import DEFAULT_ADDRESS
from ..smoke.compare import smoke_compared
from ..smoke.outcome import SmokeResult
from ..smoke.recipe import apply
from ..smoke.run import DEFAULT_MAX_EXTRACT, Options, smoke
from . import args as argtypes
from .render import activity_for

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def register(sub) -> None:
    p = sub.add_parser(
        "smoke", help="run an image's platform under emulation and report exit code and output",
        description="Run IMAGE's PLATFORM image once, emulated: containerd + runc with qemu-user in "
                    "binfmt_misc (registered when run as root), or qemu-ARCH confined to its extracted root "
                    "filesystem (user, mount, PID, network and IPC namespaces) when containerd cannot run. "
                    "ARGS after -- replace the image's Cmd (like a pod's args:); the Entrypoint stays.",
    )
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("args", nargs="*", metavar="ARGS", help="arguments (after --) replacing the image's Cmd")
    p.add_argument("--platform", default="linux/riscv64", metavar="OS/ARCH[/VARIANT]", type=argtypes.platform,
                   help="default linux/riscv64")
    p.add_argument("--expect", metavar="REGEX", help="the output (stdout and stderr) must match this")
    p.add_argument("--timeout", type=argtypes.seconds, default=60, metavar="S",
                   help="stop the container after S seconds (default 60); with --expect a match before "
                        "the timeout counts as success, for servers that keep running")
    p.add_argument("--containerd-address", default=DEFAULT_ADDRESS, metavar="SOCK",
                   help=f"use this containerd if it answers (default {DEFAULT_ADDRESS}); "
                        "otherwise a private one is started (root needed)")
    p.add_argument("--debian-archive", metavar="URL", type=argtypes.archive_url,
                   help="kernel runs: the Debian archive the target's kernel and busybox come from (default: the "
                        "first deb URI of this machine's apt sources)")
    p.add_argument("--debian-keyring", metavar="FILE", type=argtypes.existing_file,
                   help="keyring that signs that archive's InRelease")
    p.add_argument("--debian-suite", metavar="SUITE", help="kernel runs: the Debian suite (default: trixie for riscv64)")
    p.add_argument("--mode", choices=("auto", "containerd", "qemu", "kernel"), default="auto",
                   help="force containerd, the confined qemu fallback, or the target's own kernel under "
                        "full-system emulation (default: containerd when possible; the kernel when the recipe "
                        "needs it)")
    p.add_argument("--module", action="append", default=[], metavar="NAME", type=argtypes.kernel_module,
                   help="kernel runs: load this module of the target's kernel before the program (repeatable; "
                        "added to the recipe's)")
    p.add_argument("--sysctl", action="append", default=[], metavar="NAME=VALUE", type=argtypes.sysctl,
                   help="kernel runs: set this before the program (repeatable; added to the recipe's)")
    p.add_argument("--max-extract-size", default=str(DEFAULT_MAX_EXTRACT >> 30) + "G", metavar="SIZE",
                   help="what one layer may expand to, and what the program may write under the qemu fallback "
                        "(a tmpfs of this size over its root; it may also run at most 256 processes) "
                        f"(default {DEFAULT_MAX_EXTRACT >> 30}G; suffixes K, M, G, T)")
    p.add_argument("--no-recipe", action="store_true",
                   help="without ARGS and --expect, IMAGE's catalog smoke recipe (arguments, files, readiness "
                        "signal) is used when the catalog knows the image; this runs its own Cmd instead")
    p.add_argument("--no-compare", action="store_true",
                   help="when the smoke fails, do not run the index's host platform the same way to compare")
    p.set_defaults(run=run)


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if not m or float(m.group(1)) <= 0:
        raise BadInput(f"--max-extract-size {text!r}: expected a positive size such as 8G or 512M")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _recipe(image: str):
    """The catalog's smoke recipe for ``image`` (by its name and tag), or None."""
    try:
        ref = reference.parse(image)
        return load().component(str(ref)).smoke_recipe(ref.tag or "")
    except BadInput:
        return None


def _with_kernel(opts: Options, kernel, args, ctx) -> Options:
    """``opts`` with the target's kernel when the recipe needs it or
    ``--mode kernel`` asks for it: the recipe's modules, sysctls and checks
    (only its modules and sysctls when ARGS replace its command, since they
    prepare the machine for the image, not for one command), plus
    ``--module`` and ``--sysctl``."""
    if kernel is None and opts.mode != "kernel":
        return opts
    kernel = kernel or KernelRun((), (), (), ())
    modules = [m for m in getattr(args, "module", None) or [] if m not in kernel.modules]
    sysctls = tuple(tuple(kv.split("=", 1)) for kv in getattr(args, "sysctl", None) or [])
    kernel = dataclasses.replace(kernel, modules=kernel.modules + tuple(modules), sysctls=kernel.sysctls + sysctls)
    boot = vm.boot_for(opts.platform, kernel, archive=args.debian_archive,
                       keyring=args.debian_keyring, suite=args.debian_suite, cache_dir=Path(ctx.cache_dir()))
    return dataclasses.replace(opts, boot=boot)


@contextmanager
def _sigterm_interrupts():
    """SIGTERM stops a smoke run the way Ctrl-C does: cleaned up, not "ok"."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:          # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _options(args) -> Options:
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise BadInput("--timeout must be a positive number of seconds")
    # main.py may hand over everything after the first ``--`` as
    # ``passthrough`` (argparse cannot place a '*' positional after options).
    extra = [*(args.args or []), *(getattr(args, "passthrough", None) or [])]
    return Options(
        platform=platforms.parse(args.platform),
        args=tuple(extra) if extra else None,
        expect=args.expect,
        timeout=args.timeout,
        containerd_address=args.containerd_address,
        mode=args.mode,
        max_extract=parse_size(getattr(args, "max_extract_size", None) or f"{DEFAULT_MAX_EXTRACT}"),
        tool_env=tuple(os.environ.items()),
    )


def _with_recipe(opts: Options, args) -> tuple[Options, KernelRun | None]:
    """``opts`` with the catalog's recipe (unless ``--no-recipe``, ARGS or
    ``--expect``), and the kernel run it asks for."""
    modules, sysctls = getattr(args, "module", None) or [], getattr(args, "sysctl", None) or []
    if (modules or sysctls) and args.mode != "kernel":
        raise BadInput("--module and --sysctl are for the target's kernel: add --mode kernel")
    if getattr(args, "no_recipe", False):
        return opts, None
    recipe = _recipe(args.image)
    if not (opts.args is not None or args.expect):
        return apply(opts, recipe), recipe.kernel if recipe is not None else None
    if args.mode == "kernel" and recipe is not None and recipe.kernel is not None:
        return opts, dataclasses.replace(recipe.kernel, then=(), expect=())
    return opts, None


def run(args, ctx) -> int:
    opts, kernel = _with_recipe(_options(args), args)
    opts = _with_kernel(opts, kernel, args, ctx)
    source = ctx.open_source(args.image)
    # A spinner with the elapsed seconds while the image runs (a terminal's
    # stderr only); the smoke's own steps show beside it.
    activity = activity_for(ctx)
    with _sigterm_interrupts(), activity, \
            phase(activity.log, f"smoke {opts.platform} (at most {args.timeout:g}s)"):
        result = smoke_compared(source, opts, progress=activity.log) if not getattr(args, "no_compare", False) \
            else smoke(source, opts, progress=activity.log)
    if ctx.json:
        ctx.emit(result.to_dict())
    else:
        _print(result, ctx.console)
    return 0 if result.ok else 1


def _print(result: SmokeResult, out) -> None:
    where = {"containerd": "containerd + runc + qemu binfmt", "qemu": "qemu, confined to the extracted root",
             "kernel": "the target's kernel under full-system emulation", "none": "not run"}[result.path]
    out.print(f"{result.image} ({result.platform}) — {where}", highlight=False)
    out.print(f"  argv      {' '.join(result.argv)}", highlight=False, markup=False)
    for note in result.notes:
        out.print(f"  note      {note}", highlight=False, markup=False)
    if result.error:
        out.print(f"  error     {result.error}", highlight=False, markup=False)
    else:
        if result.ready is not None and result.exit_code is None:
            # stopped by archport once its readiness signal was seen (or never seen)
            code = f"stopped after {result.seconds:.1f}s, {'ready' if result.ready else 'never ready'}"
        else:
            code = "timed out" if result.timed_out else str(result.exit_code)
        out.print(f"  exit      {code}", highlight=False)
        for label, text in (("stdout", result.stdout), ("stderr", result.stderr)):
            for i, line in enumerate(text.rstrip("\n").splitlines()[-40:]):
                out.print(f"  {label if i == 0 else '':9} {line}", highlight=False, markup=False)
        if result.expect is not None:
            out.print(f"  expect    {result.expect!r}: {'matched' if result.matched else 'NOT matched'}",
                      highlight=False, markup=False)
    out.print("smoke passed" if result.ok else "smoke FAILED", style="bold green" if result.ok else "bold red")
