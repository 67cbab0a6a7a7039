"""registries.yaml, and containerd's config.toml rendered from it as k3s v1.24.2
renders it.  Pure: YAML text in, TOML text out.

registries.yaml is read by rancher/wharfie pkg/registries (the Registry,
Mirror, RegistryConfig, AuthConfig and TLSConfig types, loaded with a plain
yaml.Unmarshal: unknown keys are ignored, a missing file means "no private
registry configuration").

The TOML follows k3s pkg/agent/templates/templates_linux.go
(ContainerdConfigTemplate, config ``version = 2``): the CRI plugin's
``registry.mirrors."<host>".endpoint`` list and
``registry.configs."<host>".auth`` / ``.tls`` tables.  Go templates range
over maps in sorted key order, and print the endpoint and auth strings with
``%q`` (Go quoting, which is a valid TOML basic string for these values) but
the TLS paths and the map keys verbatim; this renderer does the same.
Rendering to ``certs.d/<host>/hosts.toml`` only started with the January 2024
k3s releases, so v1.24.2 has none of it.

``rewrite`` (a mirror's repository rewrite rules) is a feature of k3s's
containerd fork (github.com/k3s-io/containerd, the CRI plugin's
``Rewrites`` field); stock containerd has no such field.  The Go module proxy
refuses that fork ("403 Forbidden: This module version is not available"),
so the bed runs stock containerd and the stand-in refuses a registries.yaml
with ``rewrite`` instead of pretending the pull was rewritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError


class RegistriesError(ValueError):
    """registries.yaml the stand-in will not run with (one line, for the log)."""


REWRITE_REFUSED = ("registries.yaml: 'rewrite' (mirror {host}) needs k3s's containerd fork "
                   "(github.com/k3s-io/containerd), which the Go module proxy does not serve; "
                   "this k3s stand-in runs stock containerd and refuses rewrite rules")


@dataclass(frozen=True, slots=True)
class Mirror:
    endpoints: tuple[str, ...] = ()
    rewrites: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Auth:
    username: str = ""
    password: str = ""
    auth: str = ""
    identity_token: str = ""


@dataclass(frozen=True, slots=True)
class TLS:
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    insecure_skip_verify: bool = False


@dataclass(frozen=True, slots=True)
class HostConfig:
    auth: Auth | None = None
    tls: TLS | None = None


@dataclass(frozen=True, slots=True)
class Registry:
    mirrors: dict[str, Mirror] = field(default_factory=dict)
    configs: dict[str, HostConfig] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.mirrors and not self.configs


def _str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def _map(v: Any, where: str) -> dict:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise RegistriesError(f"registries.yaml: {where} is not a mapping")
    return v


def parse(text: str) -> Registry:
    """Read registries.yaml; an empty text is an empty configuration."""
    try:
        doc = YAML(typ="safe").load(text) if text.strip() else {}
    except YAMLError as e:
        raise RegistriesError(f"registries.yaml: not YAML: {str(e).splitlines()[0]}") from None
    doc = _map(doc, "the document")
    mirrors = {}
    for host, m in _map(doc.get("mirrors"), "mirrors").items():
        m = _map(m, f"mirrors.{host}")
        ep = m.get("endpoint") or []
        if isinstance(ep, str):
            raise RegistriesError(f"registries.yaml: mirrors.{host}.endpoint must be a list")
        rw = _map(m.get("rewrite"), f"mirrors.{host}.rewrite")
        mirrors[str(host)] = Mirror(tuple(_str(e) for e in ep),
                                    tuple(sorted((_str(k), _str(v)) for k, v in rw.items())))
    configs = {}
    for host, c in _map(doc.get("configs"), "configs").items():
        c = _map(c, f"configs.{host}")
        a, t = c.get("auth"), c.get("tls")
        auth = None if a is None else Auth(**{k: _str(_map(a, f"configs.{host}.auth").get(k)) for k in
                                               ("username", "password", "auth")},
                                            identity_token=_str(a.get("identity_token")))
        tls = None if t is None else TLS(
            **{k: _str(_map(t, f"configs.{host}.tls").get(k)) for k in ("ca_file", "cert_file", "key_file")},
            insecure_skip_verify=bool(t.get("insecure_skip_verify")))
        configs[str(host)] = HostConfig(auth, tls)
    return Registry(mirrors, configs)


def refuse_rewrite(reg: Registry) -> None:
    """Raise the one-line refusal when any mirror asks for ``rewrite``."""
    for host in sorted(reg.mirrors):
        if reg.mirrors[host].rewrites:
            raise RegistriesError(REWRITE_REFUSED.format(host=host))


@dataclass(frozen=True, slots=True)
class Node:
    """The template's node values (k3s fills them from its agent config)."""

    opt_path: str = "/var/lib/rancher/k3s/agent/containerd"
    cni_bin_dir: str = "/var/lib/rancher/k3s/data/current/bin"
    cni_conf_dir: str = "/var/lib/rancher/k3s/agent/etc/cni/net.d"
    snapshotter: str = "overlayfs"
    selinux: bool = False
    enable_unprivileged: bool = True
    disable_cgroup: bool = False
    # k3s sets disable_apparmor + restrict_oom_score_adj when it runs in a
    # user namespace; the bed's VM lacks CAP_SYS_RESOURCE the same way.
    restricted: bool = False
    systemd_cgroup: bool = False
    no_flannel: bool = False
    # Not k3s's: the bed's board CPU model reaches its containers through the
    # runtime's base spec (testbed/config.py, base_runtime_spec).
    base_runtime_spec: str = ""


def _q(s: str) -> str:
    # Go's %q on these (printable) strings: double quotes, backslash escapes.
    return json.dumps(s, ensure_ascii=False)


def _b(v: bool) -> str:
    return "true" if v else "false"


CRI = 'plugins."io.containerd.grpc.v1.cri"'


def render(node: Node, reg: Registry, pause_image: str, program: str = "k3s") -> str:
    """containerd's config.toml, section by section in the template's order."""
    out = [f"\n# File generated by {program}. DO NOT EDIT. Use config.toml.tmpl instead.", "version = 2", "",
           '[plugins."io.containerd.internal.v1.opt"]', f'  path = "{node.opt_path}"',
           f"[{CRI}]", '  stream_server_address = "127.0.0.1"', '  stream_server_port = "10010"',
           f"  enable_selinux = {_b(node.selinux)}",
           f"  enable_unprivileged_ports = {_b(node.enable_unprivileged)}",
           f"  enable_unprivileged_icmp = {_b(node.enable_unprivileged)}"]
    if node.disable_cgroup:
        out.append("  disable_cgroup = true")
    if node.restricted:
        out += ["  disable_apparmor = true", "  restrict_oom_score_adj = true"]
    if pause_image:
        out.append(f'  sandbox_image = "{pause_image}"')
    if node.snapshotter:
        out += ["", f"[{CRI}.containerd]", f'  snapshotter = "{node.snapshotter}"',
                f"  disable_snapshot_annotations = {_b(node.snapshotter != 'stargz')}"]
    if not node.no_flannel:
        out += ["", f"[{CRI}.cni]", f'  bin_dir = "{node.cni_bin_dir}"', f'  conf_dir = "{node.cni_conf_dir}"']
    out += ["", f"[{CRI}.containerd.runtimes.runc]", '  runtime_type = "io.containerd.runc.v2"']
    if node.base_runtime_spec:
        out.append(f'  base_runtime_spec = "{node.base_runtime_spec}"')
    out += ["",
            f"[{CRI}.containerd.runtimes.runc.options]", f"  SystemdCgroup = {_b(node.systemd_cgroup)}"]
    if reg.mirrors:
        out += ["", f"[{CRI}.registry.mirrors]"]
    for host in sorted(reg.mirrors):
        m = reg.mirrors[host]
        out += ["", f'[{CRI}.registry.mirrors."{host}"]',
                "  endpoint = [" + ", ".join(_q(e) for e in m.endpoints) + "]"]
        if m.rewrites:      # rendered as k3s does; refuse_rewrite() keeps it off the bed
            out.append(f'  [{CRI}.registry.mirrors."{host}".rewrite]')
            out += [f'    "{p}" = "{r}"' for p, r in m.rewrites]
    for host in sorted(reg.configs):
        c = reg.configs[host]
        if c.auth is not None:
            out += ["", f'[{CRI}.registry.configs."{host}".auth]']
            for key, v in (("username", c.auth.username), ("password", c.auth.password),
                           ("auth", c.auth.auth), ("identitytoken", c.auth.identity_token)):
                if v:
                    out.append(f"  {key} = {_q(v)}")
        if c.tls is not None:
            out += ["", f'[{CRI}.registry.configs."{host}".tls]']
            for key, v in (("ca_file", c.tls.ca_file), ("cert_file", c.tls.cert_file),
                           ("key_file", c.tls.key_file)):
                if v:
                    out.append(f'  {key} = "{v}"')
            if c.tls.insecure_skip_verify:
                out.append("  insecure_skip_verify = true")
    return "\n".join(out) + "\n"
