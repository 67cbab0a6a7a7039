"""Entry point: parse, dispatch, map errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from .. import __version__
from ..errors import ArchportError, BadInput
from .context import Context

# Command modules, in the order `archport --help` lists them.
COMMANDS = [
    "inspect", "copy", "airgap", "index", "check", "smoke",
    "doctor", "collect", "catalog", "port",
]


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line on stderr and exit 2 (no usage dump)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def common_options(suppress: bool = False) -> argparse.ArgumentParser:
    """The options every command takes.  The copy given to subcommands has
    SUPPRESS defaults so ``archport --json copy …`` is not reset by the
    subcommand's own defaults (an argparse quirk)."""
    p = _Parser(add_help=False, argument_default=argparse.SUPPRESS if suppress else None)
    g = p.add_argument_group("common options")
    g.add_argument("--json", action="store_true", help="print one machine-readable JSON document on stdout")
    g.add_argument("--debug", action="store_true", help="log HTTP requests and decisions to stderr (never credentials)")
    g.add_argument("--plain-http", action="append", metavar="HOST[:PORT]",
                   help="allow plain HTTP to this registry (loopback is always allowed)")
    g.add_argument("--ca-file", metavar="FILE", help="extra CA certificate(s) to trust for registries")
    g.add_argument("--mirror", action="append", metavar="REGISTRY=HOST",
                   help="pull REGISTRY's images through HOST first (e.g. docker.io=192.168.1.10:6000)")
    g.add_argument("--mirror-only", action="store_true",
                   help="never pull from a registry that has a --mirror; only its mirrors are asked")
    g.add_argument("--jobs", type=int, metavar="N", help="parallel transfers (default 4)")
    if not suppress:
        p.set_defaults(json=False, debug=False, plain_http=[], ca_file=None, mirror=[], mirror_only=False, jobs=4)
    return p


class _WithCommon:
    """Hands command modules a subparsers object that adds the common options
    to every command, so they may follow the command name."""

    def __init__(self, sub, common) -> None:
        self._sub, self.common = sub, common

    def add_parser(self, name, **kw):
        kw.setdefault("parents", [self.common])
        return self._sub.add_parser(name, **kw)


_VALUED = {"--plain-http", "--ca-file", "--mirror", "--jobs"}


def _command_in(argv: list[str]) -> str | None:
    """The command named in ``argv`` (skipping common options and their
    values), so only that command's module is imported: start-up time is
    part of every copy a script makes."""
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a in _VALUED:
            skip = True
        elif not a.startswith("-"):
            return a if a in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="archport",
        description="Bring k3s up on CPU architectures its container images skip (linux/riscv64 first).",
        parents=[common_options()],
    )
    parser.add_argument("--version", action="version", version=f"archport {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wrapped = _WithCommon(sub, common_options(suppress=True))
    for name in [only] if only else COMMANDS:
        try:
            mod = importlib.import_module(f"archport.cli.cmd_{name}")
        except ModuleNotFoundError as e:
            if e.name != f"archport.cli.cmd_{name}":
                raise
            continue
        mod.register(wrapped)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_in(argv)
    if command is None and "--version" in argv:
        print(f"archport {__version__}")      # without importing every command (start-up time)
        return 0
    parser = build_parser(command)
    # Everything after the first "--" goes to the container (smoke's ARGS);
    # argparse would otherwise try to place it among the positionals.
    passthrough = None
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1:]
    try:
        args = parser.parse_args(argv)
        args.passthrough = passthrough
    except SystemExit as e:  # argparse prints its own one-line usage error
        return 2 if e.code not in (0, None) else 0
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    if args.debug:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
        log = logging.getLogger("archport")
        log.addHandler(handler)
        log.setLevel(logging.DEBUG)
    ctx = Context(json=getattr(args, "json", False))
    try:
        ctx = Context.from_args(args)
        return int(args.run(args, ctx) or 0)
    except BadInput as e:
        ctx.fail(str(e), code=2)
        return 2
    except ArchportError as e:
        ctx.fail(str(e), code=1)
        return 1
    except KeyboardInterrupt:
        ctx.fail("interrupted", code=130)
        return 130
    except OSError as e:
        ctx.fail(f"{e.strerror or e}: {e.filename}" if e.filename else str(e), code=1)
        return 1
    except Exception as e:  # a bug of ours: still one line, the traceback only with --debug
        if type(e).__module__.startswith(("httpx", "httpcore")):  # should have been wrapped by the client
            ctx.fail(f"network error: {type(e).__name__}: {e}", code=1)
            return 1
        if getattr(args, "debug", False):
            import traceback
            traceback.print_exc()
        ctx.fail(f"internal error: {type(e).__name__}: {e} (run with --debug for details)", code=1)
        return 1
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
