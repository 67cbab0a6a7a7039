"""k3s's paths, spelled once, and the version rule that moves one of them."""

import pytest

from archport.node import paths as P


def test_the_places_k3s_reads():
    assert P.REGISTRIES == "/etc/rancher/k3s/registries.yaml"
    assert P.DROPIN == "/etc/rancher/k3s/config.yaml.d/50-archport.yaml"
    assert P.IMAGES == "/var/lib/rancher/k3s/agent/images"
    assert P.MANIFESTS == "/var/lib/rancher/k3s/server/manifests"
    assert all(u.startswith(("/etc/", "/lib/", "/usr/lib/")) for u in P.UNITS)


@pytest.mark.parametrize("version, want", [
    ("v1.26.12+k3s1", P.CONTAINERD_CONFIG),
    ("v1.26.13+k3s1", P.CERTS_D),
    ("v1.29.1+k3s1", P.CERTS_D),
    (None, P.CERTS_D),
])
def test_registry_config_moved_to_hosts_toml(version, want):
    assert P.registry_config(version) == want
