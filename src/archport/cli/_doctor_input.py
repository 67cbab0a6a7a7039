"""Shared flags of ``doctor`` and ``collect``: where the facts come from."""

from __future__ import annotations

from ..doctor.connect import SSH, Local


def add_source_options(p) -> None:
    g = p.add_argument_group("where to read the node from (default: this machine)")
    g.add_argument("--host", metavar="[USER@]HOST",
                   help="read a board over SSH with the system ssh client (~/.ssh/config, agent, jump hosts work)")
    g.add_argument("-o", "--ssh-option", action="append", default=[], metavar="OPTION",
                   help="extra ssh -o option, e.g. -o Port=2222 (repeatable)")
    g.add_argument("-F", "--ssh-config", metavar="FILE", help="ssh configuration file (ssh -F)")
    g.add_argument("-i", "--identity", metavar="FILE", help="ssh private key (ssh -i)")
    g.add_argument("-p", "--port", type=int, metavar="PORT", help="ssh port (ssh -p)")
    g.add_argument("--root", default="", metavar="DIR",
                   help="read the node's files under DIR instead of / (a mounted image or chroot)")
    g.add_argument("--journal-lines", type=int, default=2000, metavar="N",
                   help="how many lines of the k3s journal and containerd.log to read (default 2000)")


def connector(args):
    if args.host:
        return SSH(args.host, tuple(args.ssh_option or ()), args.ssh_config, args.port, args.identity)
    return Local()
