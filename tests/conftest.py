"""Fixtures from tests/support, registered for the whole suite."""

from tests.support.registry import docker_config, registry_plain, registry_tls, registry_token, test_pki  # noqa: F401
