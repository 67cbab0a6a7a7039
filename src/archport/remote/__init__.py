"""remote: running commands on a board, the way pyinfra's connectors do.

A *connector* (:class:`Connector`, a protocol: every function that takes
one names it) has three primitives and nothing else: ``run(command)``
returns a :class:`Result` (stdout, stderr, exit status), ``put(data, path,
mode)`` writes a file atomically (``put_file`` streams a local file the
same way), ``get(path)`` reads one.  :class:`Local` runs ``sh -c`` on this
machine; :class:`SSH` goes through the system OpenSSH
client, so the user's ``~/.ssh/config``, agent, jump hosts and known_hosts
apply unchanged (host key checking is never turned off here).

ssh exits 255 when the connection itself fails (ssh(1), EXIT STATUS): that
is :class:`Unreachable`.  The remote command's own exit status is returned
as it is, for the caller to judge.

Which boards to reach, and with which ssh settings, is
:mod:`archport.node.boards`.
"""

from .connect import SSH, Connector, Local, Result, Unreachable

__all__ = ["SSH", "Connector", "Local", "Result", "Unreachable"]
