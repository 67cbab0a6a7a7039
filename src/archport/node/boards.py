"""Boards: how every command that reaches a k3s node names it.

A :class:`Board` is a name as the user wrote it, the :class:`Host` it
reaches (``[user@]host[:port]``) and, from an inventory, its own private key.
Boards come from ``--host`` values (:func:`from_hosts`) or from an
Ansible-shaped inventory, YAML or INI (:func:`parse_inventory`).
:class:`SshOptions` are the ssh settings the user gave for all boards;
:func:`connect` builds a board's connector from them (it opens nothing).

``--host`` spellings: ``[user@]host[:port]``, ``ssh://[user@]host[:port]``,
IPv6 literals in brackets (``[fe80::1]:22``, RFC 3986 §3.2.2).  A bare IPv6
literal without brackets (``::1``) is a host without a port: its colons
cannot carry one.  A password has no place there (ssh takes keys, or the
agent): one given is refused, and every message shows it as ``***``.

This machine is the board :data:`LOCAL`: ``--host localhost`` with no user
and no port (the CLI's ``--local`` says the same), or an inventory host with
``ansible_connection=local``.  It is reached with the local connector, no
SSH server needed.

Inventories.  YAML: ``all: {hosts: {NAME: {vars…}}, children: {GROUP:
{hosts: …, children: …, vars: …}}, vars: …}``.  INI: ``[group]`` sections of
``NAME key=value…`` lines, ``[group:vars]`` and ``[group:children]``.  Group
variables flow down to their hosts; a host's own win.  Of the variables,
``ansible_host``, ``ansible_user``, ``ansible_port`` and
``ansible_ssh_private_key_file`` are read (Ansible's connection variables).
``ansible_connection=local`` makes a host this machine.  Pure: the caller
reads the file.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ruamel.yaml.error import YAMLError

from .. import yamlsafe
from ..errors import BadInput
from ..remote import SSH, Connector, Local

# A host name, an ssh_config alias or an IPv4 literal: no spaces, no shell or
# ssh option syntax.  IPv6 literals are checked separately.
_NAME = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?$")
_IPV6 = re.compile(r"^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$")


@dataclass(frozen=True, slots=True)
class Host:
    host: str                  # name, alias, IPv4, or IPv6 without brackets
    user: str | None = None
    port: int | None = None

    @property
    def destination(self) -> str:
        """What ssh takes as its destination (the port goes to ``-p``)."""
        return f"{self.user}@{self.host}" if self.user else self.host

    def __str__(self) -> str:
        h = f"[{self.host}]" if ":" in self.host else self.host
        s = f"{self.user}@{h}" if self.user else h
        return f"{s}:{self.port}" if self.port else s


@dataclass(frozen=True, slots=True)
class Board:
    name: str                    # as the user wrote it
    host: Host
    identity: str | None = None  # the inventory's private key for this board


LOCALHOST = "localhost"
# This machine: reached without ssh.
LOCAL = Board(LOCALHOST, Host(LOCALHOST))


def is_local(board: Board) -> bool:
    """``localhost`` with no user, port or key of its own: this machine, not an sshd on it."""
    return board.host == Host(LOCALHOST) and board.identity is None


def shown(text: str) -> str:
    """``text`` as a message may show it: a password in ``user:PASS@host`` is ``***``."""
    if not isinstance(text, str) or "@" not in text:
        return text
    scheme, sep, rest = text.rpartition("://")
    userinfo, _, host = rest.rpartition("@")
    if ":" not in userinfo:
        return text
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}:***@{host}"


@dataclass(frozen=True, slots=True)
class SshOptions:
    """The ssh settings given for every board (``-o``, ``-F``, ``-p``, ``-i``)."""

    options: tuple[str, ...] = ()
    config: str | None = None
    port: int | None = None
    identity: str | None = None


def connect(board: Board, ssh: SshOptions) -> Connector:
    """The connector for a board: this machine's own for :data:`LOCAL`, else
    SSH with the board's own port and key first, then the options'."""
    if is_local(board) and not ssh.port:
        return Local()
    return SSH(board.host.destination, ssh.options, ssh.config, board.host.port or ssh.port,
               board.identity or ssh.identity)


def from_hosts(values: list[str]) -> list[Board]:
    """One board per ``--host`` value, named as written."""
    return [Board(h, parse_host(h)) for h in values]


# --- --host ------------------------------------------------------------------

def _port(text: str, original: str) -> int:
    if not text.isdigit():
        raise BadInput(f"--host {original!r}: port {text!r} is not a number")
    n = int(text)
    if not 1 <= n <= 65535:
        raise BadInput(f"--host {original!r}: port {n} is not between 1 and 65535")
    return n


def parse_host(text: str) -> Host:
    """Parse one ``--host`` value; :class:`BadInput` (one line) when it is not
    one.  No message carries a password the value held."""
    if not isinstance(text, str) or not text.strip():
        raise BadInput("--host '': expected [USER@]HOST[:PORT]")
    original = shown(text)
    if original != text:
        raise BadInput(f"--host {original!r}: a password cannot be given here; ssh uses a key (-i FILE, "
                       "an inventory's ansible_ssh_private_key_file) or the ssh agent")
    return _parse_host(text, original)


def _parse_host(text: str, original: str) -> Host:
    if not text.strip():
        raise BadInput("--host '': expected [USER@]HOST[:PORT]")
    if text != text.strip() or any(c.isspace() for c in text):
        raise BadInput(f"--host {original!r}: contains whitespace")
    if "://" in text:
        scheme, _, text = text.partition("://")
        if scheme.lower() != "ssh":
            raise BadInput(f"--host {original!r}: only ssh:// is understood")
        text = text.rstrip("/")
        if "/" in text:
            raise BadInput(f"--host {original!r}: a path has no meaning for ssh")
    user = None
    if "@" in text:
        user, _, text = text.rpartition("@")
        if not _USER.fullmatch(user):
            raise BadInput(f"--host {original!r}: bad user name {user!r}")
    port = None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not host or not _IPV6.fullmatch(host) or ":" not in host:
            raise BadInput(f"--host {original!r}: bad IPv6 literal")
        if rest:
            if not rest.startswith(":"):
                raise BadInput(f"--host {original!r}: unexpected {rest!r} after the address")
            port = _port(rest[1:], original)
    elif text.count(":") > 1:
        if not _IPV6.fullmatch(text):
            raise BadInput(f"--host {original!r}: bad IPv6 literal")
        host = text
    else:
        host, sep, p = text.partition(":")
        if sep:
            port = _port(p, original)
        if not host:
            raise BadInput(f"--host {original!r}: no host name")
        if not _NAME.fullmatch(host):
            raise BadInput(f"--host {original!r}: bad host name {host!r}")
    return Host(host, user, port)


# --- inventories -------------------------------------------------------------

def _board(name: str, hvars: dict, origin: str) -> Board:
    if str(hvars.get("ansible_connection") or "") == "local":
        return Board(shown(name), LOCAL.host)
    for k in ("ansible_host", "ansible_user", "ansible_port", "ansible_ssh_private_key_file"):
        if isinstance(hvars.get(k), (dict, list)):
            raise BadInput(f"{origin}: host {shown(name)!r}: {k} must be a single value")
    address = str(hvars.get("ansible_host") or name)
    try:
        h = parse_host(address)
    except BadInput as e:
        raise BadInput(f"{origin}: host {shown(name)!r}: {e}") from None
    user = hvars.get("ansible_user") or h.user
    port = hvars.get("ansible_port") or h.port
    if port is not None:
        try:
            port = int(str(port))
        except ValueError:
            raise BadInput(f"{origin}: host {shown(name)!r}: ansible_port {port!r} is not a number") from None
        if not 1 <= port <= 65535:
            raise BadInput(f"{origin}: host {shown(name)!r}: ansible_port {port} is not between 1 and 65535")
    key = hvars.get("ansible_ssh_private_key_file")
    return Board(shown(name), Host(h.host, str(user) if user else None, port), str(key) if key else None)


def _yaml_groups(node, inherited: dict, out: dict[str, dict], origin: str, depth: int = 0) -> None:
    if depth > 50:
        raise BadInput(f"{origin}: groups nest too deep")
    if node is None:
        return
    if not isinstance(node, dict):
        raise BadInput(f"{origin}: a group must be a mapping of hosts/children/vars")
    if not isinstance(node.get("vars") or {}, dict):
        raise BadInput(f"{origin}: a group's 'vars' must be a mapping of variables")
    gvars = {**inherited, **(node.get("vars") or {})}
    hosts = node.get("hosts") or {}
    if not isinstance(hosts, dict):
        raise BadInput(f"{origin}: 'hosts' must be a mapping of host names")
    for name, hvars in hosts.items():
        if hvars is not None and not isinstance(hvars, dict):
            raise BadInput(f"{origin}: host {shown(name)!r}: its variables must be a mapping")
        out[str(name)] = {**out.get(str(name), {}), **gvars, **(hvars or {})}
    children = node.get("children") or {}
    if not isinstance(children, dict):
        raise BadInput(f"{origin}: 'children' must be a mapping of groups")
    for child in children.values():
        _yaml_groups(child, gvars, out, origin, depth + 1)


def parse_yaml(text: str, origin: str) -> list[Board]:
    try:
        doc = yamlsafe.load(text, origin)
    except YAMLError as e:
        raise BadInput(f"{origin}: not a YAML inventory: {str(e).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise BadInput(f"{origin}: an inventory is a mapping of groups (e.g. all: {{hosts: …}})")
    hosts: dict[str, dict] = {}
    for group in doc.values():
        _yaml_groups(group, {}, hosts, origin)
    return [_board(n, v, origin) for n, v in hosts.items()]


def parse_ini(text: str, origin: str) -> list[Board]:
    groups: dict[str, list[tuple[str, dict]]] = {"ungrouped": []}
    gvars: dict[str, dict] = {}
    children: dict[str, list[str]] = {}
    section, kind = "ungrouped", "hosts"
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise BadInput(f"{origin}:{n}: bad section header {line!r}")
            section, _, kind = line[1:-1].partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "vars", "children"):
                raise BadInput(f"{origin}:{n}: unknown section kind {kind!r}")
            groups.setdefault(section, [])
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as e:
            raise BadInput(f"{origin}:{n}: {e}") from None
        if kind == "vars":
            k, sep, val = line.partition("=")
            if not sep:
                raise BadInput(f"{origin}:{n}: expected key=value in [{section}:vars]")
            gvars.setdefault(section, {})[k.strip()] = val.strip()
        elif kind == "children":
            children.setdefault(section, []).append(words[0])
        else:
            groups[section].append(_ini_host(words, origin, n))
    return [_board(n, v, origin) for n, v in _ini_flatten(groups, gvars, children, origin).items()]


def _ini_host(words: list[str], origin: str, n: int) -> tuple[str, dict]:
    hv = {}
    for w in words[1:]:
        k, sep, val = w.partition("=")
        if not sep:
            raise BadInput(f"{origin}:{n}: expected key=value after the host name, got {w!r}")
        hv[k] = val
    if "[" in words[0] and ":" in words[0].split("[", 1)[1]:
        raise BadInput(f"{origin}:{n}: host ranges ({words[0]}) are not supported; list the hosts")
    return words[0], hv


def _ini_flatten(groups: dict[str, list[tuple[str, dict]]], gvars: dict[str, dict],
                 children: dict[str, list[str]], origin: str) -> dict[str, dict]:
    """Each host's variables, its groups' flowing down from the top groups."""
    hosts: dict[str, dict] = {}

    def visit(group: str, inherited: dict, depth: int = 0) -> None:
        if depth > 50:
            raise BadInput(f"{origin}: groups nest too deep")
        v = {**inherited, **gvars.get(group, {})}
        for name, hv in groups.get(group, []):
            hosts[name] = {**hosts.get(name, {}), **v, **hv}
        for child in children.get(group, []):
            visit(child, v, depth + 1)

    nested = {c for cs in children.values() for c in cs}
    for g in groups:
        if g not in nested:
            visit(g, gvars.get("all", {}))
    return hosts


def parse_inventory(text: str, origin: str) -> list[Board]:
    """The boards of an inventory's text (``origin`` names it in errors).
    Either format: INI when the first meaningful line is a ``[section]``
    or a ``name key=value`` row, YAML otherwise."""
    first = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith(("#", ";"))),
                 "")
    if not first:
        raise BadInput(f"{origin}: empty inventory")
    looks_ini = first.startswith("[") and first.endswith("]") and not first.startswith("[{") \
        or ("=" in first and ":" not in first.split("=", 1)[0])
    boards = parse_ini(text, origin) if looks_ini else parse_yaml(text, origin)
    if not boards:
        raise BadInput(f"{origin}: no hosts in the inventory")
    return boards
