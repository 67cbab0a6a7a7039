"""Where k3s keeps what archport reads and writes on a node, spelled once.

Every path is absolute on the board; a reader that points at a directory
instead of ``/`` (a mounted board image, a test's board) prefixes it.  The
places are k3s's defaults: ``/etc/rancher/k3s`` for what the user configures
(``config.yaml`` and its drop-ins, docs.k3s.io "Configuration Options";
``registries.yaml``, the default of ``k3s agent --private-registry``), and
``/var/lib/rancher/k3s`` for k3s's data directory (the default of
``--data-dir`` when k3s runs as root, ``k3s server --help``).  Only one place
moved between releases, the registry configuration containerd is given
(:func:`registry_config`); what each version does with these files stays in
``k3s/behaviour.toml``.
"""

from __future__ import annotations

from ..k3s.behaviour import K3sVersion
from ..k3s.behaviour import load as behaviour

ETC = "/etc/rancher/k3s"
CONFIG = f"{ETC}/config.yaml"
# k3s merges config.yaml.d/*.yaml after config.yaml, in name order ("config-dropins" in behaviour.toml).
DROPIN_DIR = f"{ETC}/config.yaml.d"
DROPIN = f"{DROPIN_DIR}/50-archport.yaml"      # the one drop-in archport writes
REGISTRIES = f"{ETC}/registries.yaml"
CA_DIR = f"{ETC}/archport"                     # registry CA certificates archport installs

DATA = "/var/lib/rancher/k3s"
# Archives k3s imports into containerd at start (and, in newer releases, when one is added).
IMAGES = f"{DATA}/agent/images"
# Manifests a server applies at start; packaged ones are rewritten unless <file>.skip exists.
MANIFESTS = f"{DATA}/server/manifests"
CONTAINERD = f"{DATA}/agent/containerd"
CONTAINERD_LOG = f"{CONTAINERD}/containerd.log"
# The containerd configuration k3s generates at each start (docs.k3s.io, "Advanced Options", containerd).
CONTAINERD_ETC = f"{DATA}/agent/etc/containerd"
CONTAINERD_CONFIG = f"{CONTAINERD_ETC}/config.toml"
CERTS_D = f"{CONTAINERD_ETC}/certs.d"

# The systemd unit logs to the journal; the OpenRC service k3s's installer
# writes (install.sh) logs here instead.
OPENRC_LOG = "/var/log/k3s.log"
# Where install.sh (and distribution packages) put the service definitions.
UNITS = ("/etc/systemd/system/k3s.service", "/etc/systemd/system/k3s-agent.service",
         "/lib/systemd/system/k3s.service", "/lib/systemd/system/k3s-agent.service",
         "/usr/lib/systemd/system/k3s.service", "/usr/lib/systemd/system/k3s-agent.service",
         "/etc/init.d/k3s", "/etc/init.d/k3s-agent")


def registry_config(version: K3sVersion | str | None) -> str:
    """Where containerd reads the registries.yaml k3s rendered: one
    ``certs.d/<host>/hosts.toml`` per registry from the January 2024
    releases on, the generated ``config.toml`` before ("registry-hosts-toml"
    in behaviour.toml).  An unknown version gets today's place."""
    if behaviour().supports("registry-hosts-toml", version) is False:
        return CONTAINERD_CONFIG
    return CERTS_D
