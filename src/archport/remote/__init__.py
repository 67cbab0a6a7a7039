"""remote: running commands on a board, the way pyinfra's connectors do.

A *connector* has three primitives and nothing else: ``run(command)`` returns
a :class:`Result` (stdout, stderr, exit status), ``put(data, path, mode)``
writes a file atomically, ``get(path)`` reads one.  :class:`Local` runs
``sh -c`` on this machine; :class:`SSH` goes through the system OpenSSH
client, so the user's ``~/.ssh/config``, agent, jump hosts and known_hosts
apply unchanged (host key checking is never turned off here).

ssh exits 255 when the connection itself fails (ssh(1), EXIT STATUS): that
is :class:`Unreachable`.  The remote command's own exit status is returned
as it is, for the caller to judge.

:mod:`.host` parses the one spelling of a board every command accepts:
``[user@]host[:port]``, ``ssh://user@host:port`` and IPv6 in brackets.
"""

from .connect import SSH, Local, Result, Unreachable
from .host import Host, parse_host

__all__ = ["SSH", "Host", "Local", "Result", "Unreachable", "parse_host"]
