"""Naming boards on the command line, the same way in every command that
reaches one: ``--host [USER@]HOST[:PORT]`` (repeatable: each one is a board),
``--inventory FILE``, or ``--local`` for this machine (``--host localhost``
says the same; neither needs an SSH server), and the ssh options ``-p``,
``-i``, ``-F``, ``-o``.  The boards themselves are
:mod:`archport.node.boards`; this module reads the flags and the inventory
file."""

from __future__ import annotations

import os

from ..errors import BadInput
from ..node import boards as node_boards
from ..node.boards import Board, SshOptions
from ..remote import Connector
from . import args as argtypes

def add_options(p, *, fleet_help: str = "a board over SSH", local_help: str = "") -> None:
    where = p.add_argument_group("boards")
    where.add_argument("--host", action="append", default=[], metavar="[USER@]HOST[:PORT]",
                       help=f"{fleet_help}; repeat for several boards (ssh://USER@HOST:PORT and [IPv6]:PORT "
                            "work too; 'localhost' alone is this machine, without ssh)")
    where.add_argument("--inventory", metavar="FILE",
                       help="an Ansible inventory (YAML or INI) of boards (ansible_connection=local: this machine)")
    where.add_argument("--local", action="store_true",
                       help=local_help or "this machine is the board (no ssh; the same as --host localhost)")
    where.add_argument("-o", "--ssh-option", action="append", default=[], metavar="OPTION",
                       help="extra ssh -o option (repeatable)")
    where.add_argument("-F", "--ssh-config", metavar="FILE", help="ssh configuration file (ssh -F)")
    where.add_argument("-i", "--identity", metavar="FILE", help="ssh private key (ssh -i)")
    where.add_argument("-p", "--port", type=argtypes.port_number, metavar="PORT",
                       help="ssh port for boards that do not name their own")


def boards(args, required: bool = True, default_local: bool = False) -> list[Board]:
    """The boards ``--host``, ``--inventory`` or ``--local`` name (BadInput
    when two of them are given or, if ``required``, none).  With
    ``default_local`` none means this machine.  Each ``--host`` is a board."""
    given = [flag for flag, v in (("--host", args.host), ("--inventory", args.inventory),
                                  ("--local", args.local)) if v]
    if len(given) > 1:
        raise BadInput(f"{' and '.join(given)} name the boards two ways; give one")
    if args.inventory:
        try:
            with open(args.inventory, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise BadInput(f"--inventory {args.inventory}: {getattr(e, 'strerror', None) or e}") from None
        found = node_boards.parse_inventory(text, args.inventory)
    elif args.host:
        found = node_boards.from_hosts(args.host)
    elif args.local or default_local:
        found = [node_boards.LOCAL]
    elif required:
        raise BadInput("no boards: give --host [USER@]HOST[:PORT] (repeatable), --inventory FILE or --local")
    else:
        return []
    return found


def check_root(args, targets: list[Board]) -> None:
    """``--root DIR`` is a directory on the board: checked here when the board is this machine."""
    root = getattr(args, "root", "")
    if root and any(node_boards.is_local(b) for b in targets) and not os.path.isdir(root):
        raise BadInput(f"--root {root}: no such directory")


def ssh_options(args) -> SshOptions:
    return SshOptions(tuple(args.ssh_option or ()), args.ssh_config, args.port, args.identity)


def connect(args, b: Board) -> Connector:
    """The connector for a board: this machine's own for ``--local``, else SSH
    with the board's own port and key first, then the flags'."""
    return node_boards.connect(b, ssh_options(args))
