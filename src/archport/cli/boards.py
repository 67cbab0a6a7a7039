"""Naming boards on the command line, the same way in every command that
reaches one: ``--host`` (repeatable where a fleet makes sense) or
``--inventory FILE``, and the ssh options ``-p``, ``-i``, ``-F``, ``-o``.
The boards themselves are :mod:`archport.node.boards`; this module reads the
flags and the inventory file."""

from __future__ import annotations

from ..errors import BadInput
from ..node import boards as node_boards
from ..node.boards import Board, SshOptions
from ..remote import SSH
from . import args as argtypes


def add_options(p, *, fleet_help: str = "a board over SSH") -> None:
    where = p.add_argument_group("boards")
    where.add_argument("--host", action="append", default=[], metavar="[USER@]HOST[:PORT]",
                       help=f"{fleet_help} (repeatable; ssh://user@host:port and [IPv6]:port work too)")
    where.add_argument("--inventory", metavar="FILE", help="an Ansible inventory (YAML or INI) of boards")
    where.add_argument("-o", "--ssh-option", action="append", default=[], metavar="OPTION",
                       help="extra ssh -o option (repeatable)")
    where.add_argument("-F", "--ssh-config", metavar="FILE", help="ssh configuration file (ssh -F)")
    where.add_argument("-i", "--identity", metavar="FILE", help="ssh private key (ssh -i)")
    where.add_argument("-p", "--port", type=argtypes.port_number, metavar="PORT",
                       help="ssh port for boards that do not name their own")


def boards(args, required: bool = True) -> list[Board]:
    """The boards ``--host`` or ``--inventory`` name (BadInput when both or, if
    ``required``, neither)."""
    if args.host and args.inventory:
        raise BadInput("--host and --inventory name the boards two ways; give one")
    if args.inventory:
        try:
            with open(args.inventory, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise BadInput(f"--inventory {args.inventory}: {getattr(e, 'strerror', None) or e}") from None
        return node_boards.parse_inventory(text, args.inventory)
    if not args.host:
        if required:
            raise BadInput("no boards: give --host [USER@]HOST[:PORT] (repeatable) or --inventory FILE")
        return []
    return node_boards.from_hosts(args.host)


def ssh_options(args) -> SshOptions:
    return SshOptions(tuple(args.ssh_option or ()), args.ssh_config, args.port, args.identity)


def connect(args, b: Board) -> SSH:
    """The SSH connector for a board: its own port and key first, then the flags'."""
    return node_boards.connect(b, ssh_options(args))
