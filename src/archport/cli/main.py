"""Entry point: parse, dispatch, map errors to exit codes."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import traceback

from .. import __version__
from ..errors import ArchportError, BadInput
from ..redaction import redact
from . import args as argtypes
from .commands import BY_NAME, JOURNEY, NAMES

# Command modules, in the order `archport --help` lists them (cli.commands).
COMMANDS = list(NAMES)
COMMON_TITLE = "common options"


class UsageError(SystemExit):
    """argparse's complaint, raised instead of printed so :func:`main` can
    say it the way the run asked: one line on stderr, or under ``--json``
    one JSON document on stdout.  Still a SystemExit(2) for anyone else."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(2)
        self.line = f"{prog}: error: {message} (see {prog} --help)"


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line and exit 2 (no usage dump).  Help lists the
    command's own options first and the common ones once, last, shortened
    to ``[common options]`` in the usage line; the epilog (examples) is
    printed as written."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(self.prog, message)

    def format_help(self) -> str:
        common = [g for g in self._action_groups if g.title == COMMON_TITLE]
        shared = {id(a) for g in common for a in g._group_actions}
        actions = [a for a in self._actions if id(a) not in shared]
        if common:
            # A stand-in positional placed before the real ones, so the usage
            # line reads "[-h] … [common options] REPO".
            marker = argparse.Action(option_strings=[], dest="common_options", metavar="[common options]")
            at = next((i for i, a in enumerate(actions) if not a.option_strings), len(actions))
            actions.insert(at, marker)
        formatter = self._get_formatter()
        formatter.add_usage(self.usage, actions, self._mutually_exclusive_groups)
        formatter.add_text(self.description)
        for group in [g for g in self._action_groups if g not in common] + common:
            formatter.start_section(group.title)
            formatter.add_text(group.description)
            formatter.add_arguments(group._group_actions)
            formatter.end_section()
        text = formatter.format_help()
        if self.epilog:
            text += "\nexamples:\n" + self.epilog.rstrip() + "\n"
        return text


def common_options(suppress: bool = False) -> argparse.ArgumentParser:
    """The options every command takes.  The copy given to subcommands has
    SUPPRESS defaults so ``archport --json copy …`` is not reset by the
    subcommand's own defaults (an argparse quirk)."""
    p = _Parser(add_help=False, argument_default=argparse.SUPPRESS if suppress else None)
    g = p.add_argument_group(COMMON_TITLE)
    g.add_argument("--json", action="store_true", help="print one machine-readable JSON document on stdout")
    g.add_argument("--debug", action="store_true", help="log HTTP requests and decisions to stderr (never credentials)")
    g.add_argument("--plain-http", action="append", metavar="HOST[:PORT]", type=argtypes.registry_host,
                   help="allow plain HTTP to this registry (loopback is always allowed)")
    g.add_argument("--ca-file", metavar="FILE", type=argtypes.ca_file,
                   help="extra CA certificate(s) to trust for registries and --releases-url")
    g.add_argument("--mirror", action="append", metavar="REGISTRY=HOST", type=argtypes.mirror,
                   help="pull REGISTRY's images through HOST first (e.g. docker.io=192.168.1.10:6000)")
    g.add_argument("--mirror-only", action="store_true",
                   help="never pull from a registry that has a --mirror; only its mirrors are asked")
    g.add_argument("--jobs", type=argtypes.positive_int, metavar="N", help="parallel transfers (default 4)")
    g.add_argument("--verify-blobs", action=argparse.BooleanOptionalAction,
                   help="read back and hash every blob a registry says it already has or mounted from another "
                        "repository, whose bytes do not pass through archport (default: on for port, off otherwise; "
                        "a blob archport mounts is read back unless --no-verify-blobs)")
    g.add_argument("--stall-timeout", type=argtypes.seconds, metavar="SECONDS",
                   help="fail a registry transfer that makes no progress for this long (default 60)")
    if not suppress:
        # verify_blobs: None = the command's own default (``verify_blobs_default``).
        p.set_defaults(json=False, debug=False, plain_http=[], ca_file=None, mirror=[], mirror_only=False, jobs=4,
                       verify_blobs=None, stall_timeout=None)
    return p


class _WithCommon:
    """Hands command modules a subparsers object that adds the common options
    to every command, so they may follow the command name."""

    def __init__(self, sub, common) -> None:
        self._sub, self.common = sub, common

    def add_parser(self, name, **kw):
        kw.setdefault("parents", [self.common])
        if name in BY_NAME:
            kw.setdefault("epilog", BY_NAME[name].examples)
        return self._sub.add_parser(name, **kw)


_VALUED = {"--plain-http", "--ca-file", "--mirror", "--jobs", "--stall-timeout"}
# Options whose value is itself arguments for a program and so may start
# with "-" (``--smoke-args '--help'``): argparse would read such a value as
# an option (python/cpython#53580), so the space form is joined into the
# ``--opt=value`` form, which argparse takes as it is.
_DASH_VALUED = {"--smoke-args"}


def _join_dash_values(argv: list[str]) -> list[str]:
    out, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a in _DASH_VALUED and i + 1 < len(argv):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


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


def build_parser(only: str | None = None, listing: bool = False) -> argparse.ArgumentParser:
    """The parser for command ``only`` (every command when None); with
    ``listing``, the top level alone, naming the commands without them."""
    parser = _Parser(
        prog="archport",
        description="Bring k3s up on CPU architectures its container images skip (linux/riscv64 first).",
        parents=[common_options()],
        epilog=JOURNEY,
    )
    parser.add_argument("--version", action="version", version=f"archport {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if listing:
        # Nothing to run: ``archport --help`` or a usage error.  The list
        # comes from the command table, without importing any command.
        for command in BY_NAME.values():
            sub.add_parser(command.name, help=command.summary, add_help=False)
        return parser
    wrapped = _WithCommon(sub, common_options(suppress=True))
    for name in [only] if only else COMMANDS:
        # Every command module exists: a missing one is a packaging bug, not
        # a command to skip.  Imported lazily, only the one being run.
        importlib.import_module(f"archport.cli.cmd_{name}").register(wrapped)
    return parser


def _terminate_like_interrupt():
    """SIGTERM (``kill``, ``timeout``, a service manager) unwinds the way
    Ctrl-C does, so every sink aborts and removes its temporaries.  A second
    SIGTERM during that clean-up ends the process at once."""
    def handler(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (main() called from a test's thread)
        return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_in(argv)
    if command is None and "--version" in argv:
        print(f"archport {__version__}")      # without importing every command (start-up time)
        return 0
    args = _parse(build_parser(command) if command else build_parser(listing=True), argv)
    if isinstance(args, int):
        return args
    if args.debug:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
        log = logging.getLogger("archport")
        log.addHandler(handler)
        log.setLevel(logging.DEBUG)
    return _run(args)


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    """The parsed arguments, or the exit code when there is nothing to run
    (a usage error said, or ``--help`` printed)."""
    # Everything after the first "--" goes to the container (smoke's ARGS);
    # argparse would otherwise try to place it among the positionals.
    passthrough = None
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1:]
    argv = _join_dash_values(argv)
    as_json = "--json" in argv
    try:
        args = parser.parse_args(argv)
        args.passthrough = passthrough
    except UsageError as e:
        if as_json:
            from .context import Context     # lazy: rich and the clients are not needed for --help
            Context(json=True).fail(e.line, code=2)
        else:
            print(e.line, file=sys.stderr)
        return 2
    except SystemExit as e:  # --help, --version: argparse printed them
        return 2 if e.code not in (0, None) else 0
    if not getattr(args, "run", None):
        if as_json:
            from .context import Context
            Context(json=True).fail("name a command (see archport --help)", code=2)
        else:
            parser.print_help(sys.stderr)
        return 2
    return args


def _run(args: argparse.Namespace) -> int:
    """Run the command; every failure is one line (or one JSON document) and its exit code."""
    from .context import Context   # rich and the clients: only when a command runs, not for --help
    ctx = Context(json=getattr(args, "json", False))
    previous = _terminate_like_interrupt()
    try:
        ctx = Context.from_args(args)
        return int(args.run(args, ctx) or 0)
    except BadInput as e:
        ctx.fail(str(e), code=2)
        return 2
    except ArchportError as e:
        ctx.fail(str(e), code=1, next_step=getattr(e, "next_step", "") or "")
        return 1
    except KeyboardInterrupt:
        ctx.fail("interrupted", code=130)
        return 130
    except OSError as e:
        ctx.fail(redact(f"{e.strerror or e}: {e.filename}" if e.filename else str(e)), code=1)
        return 1
    except Exception as e:  # a bug of ours: still one line, the traceback only with --debug
        # Not one of ours, so its text was never redacted: it may quote a URL
        # or a server's answer (archport.redaction).
        if type(e).__module__.startswith(("httpx", "httpcore")):  # should have been wrapped by the client
            ctx.fail(redact(f"network error: {type(e).__name__}: {e}"), code=1)
            return 1
        if getattr(args, "debug", False):
            traceback.print_exc()
        ctx.fail(redact(f"internal error: {type(e).__name__}: {e} (run with --debug for details)"), code=1)
        return 1
    finally:
        ctx.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
