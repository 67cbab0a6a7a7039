"""Ansible-shaped inventories, YAML or INI, read into a list of boards.

YAML: ``all: {hosts: {NAME: {vars…}}, children: {GROUP: {hosts: …,
children: …, vars: …}}, vars: …}``.  INI: ``[group]`` sections of
``NAME key=value…`` lines, ``[group:vars]`` and ``[group:children]``.
Group variables flow down to their hosts; a host's own win.  Of the
variables, deploy reads ``ansible_host``, ``ansible_user``, ``ansible_port``
and ``ansible_ssh_private_key_file`` (Ansible's connection variables).
Pure: the caller reads the file.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ..errors import BadInput
from ..remote import Host, parse_host


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    host: Host
    identity: str | None = None


def _entry(name: str, hvars: dict, origin: str) -> Entry:
    address = str(hvars.get("ansible_host") or name)
    try:
        h = parse_host(address)
    except BadInput as e:
        raise BadInput(f"{origin}: host {name!r}: {e}") from None
    user = hvars.get("ansible_user") or h.user
    port = hvars.get("ansible_port") or h.port
    if port is not None:
        try:
            port = int(str(port))
        except ValueError:
            raise BadInput(f"{origin}: host {name!r}: ansible_port {port!r} is not a number") from None
        if not 1 <= port <= 65535:
            raise BadInput(f"{origin}: host {name!r}: ansible_port {port} is not between 1 and 65535")
    key = hvars.get("ansible_ssh_private_key_file")
    return Entry(name, Host(h.host, str(user) if user else None, port), str(key) if key else None)


def _yaml_groups(node, inherited: dict, out: dict[str, dict], origin: str, depth: int = 0) -> None:
    if depth > 50:
        raise BadInput(f"{origin}: groups nest too deep")
    if node is None:
        return
    if not isinstance(node, dict):
        raise BadInput(f"{origin}: a group must be a mapping of hosts/children/vars")
    gvars = {**inherited, **(node.get("vars") or {})}
    hosts = node.get("hosts") or {}
    if not isinstance(hosts, dict):
        raise BadInput(f"{origin}: 'hosts' must be a mapping of host names")
    for name, hvars in hosts.items():
        if hvars is not None and not isinstance(hvars, dict):
            raise BadInput(f"{origin}: host {name!r}: its variables must be a mapping")
        out[str(name)] = {**out.get(str(name), {}), **gvars, **(hvars or {})}
    children = node.get("children") or {}
    if not isinstance(children, dict):
        raise BadInput(f"{origin}: 'children' must be a mapping of groups")
    for child in children.values():
        _yaml_groups(child, gvars, out, origin, depth + 1)


def parse_yaml(text: str, origin: str) -> list[Entry]:
    try:
        doc = YAML(typ="safe").load(text)
    except YAMLError as e:
        raise BadInput(f"{origin}: not a YAML inventory: {str(e).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise BadInput(f"{origin}: an inventory is a mapping of groups (e.g. all: {{hosts: …}})")
    hosts: dict[str, dict] = {}
    for group in doc.values():
        _yaml_groups(group, {}, hosts, origin)
    return [_entry(n, v, origin) for n, v in hosts.items()]


def parse_ini(text: str, origin: str) -> list[Entry]:
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
            hv = {}
            for w in words[1:]:
                k, sep, val = w.partition("=")
                if not sep:
                    raise BadInput(f"{origin}:{n}: expected key=value after the host name, got {w!r}")
                hv[k] = val
            if "[" in words[0] and ":" in words[0].split("[", 1)[1]:
                raise BadInput(f"{origin}:{n}: host ranges ({words[0]}) are not supported; list the hosts")
            groups[section].append((words[0], hv))
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
    return [_entry(n, v, origin) for n, v in hosts.items()]


def parse(text: str, origin: str) -> list[Entry]:
    """Either format: INI when the first meaningful line is a ``[section]``
    or a ``name key=value`` row, YAML otherwise."""
    first = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith(("#", ";"))),
                 "")
    if not first:
        raise BadInput(f"{origin}: empty inventory")
    looks_ini = first.startswith("[") and first.endswith("]") and not first.startswith("[{") \
        or ("=" in first and ":" not in first.split("=", 1)[0])
    entries = parse_ini(text, origin) if looks_ini else parse_yaml(text, origin)
    if not entries:
        raise BadInput(f"{origin}: no hosts in the inventory")
    return entries
