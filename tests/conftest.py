"""Fixtures from tests/support, registered for the whole suite (one session
registry, one session containerd, one Go build cache)."""

pytest_plugins = [
    "tests.support.registry",
    "tests.support.containerd",
    "tests.support.gobuild",
    "tests.support.sshd",
    "tests.support.bed",
]
