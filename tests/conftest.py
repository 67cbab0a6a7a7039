"""Fixtures from tests/support, registered for the whole suite (one session
registry, one session containerd, one Go build cache)."""

pytest_plugins = [
    "tests.support.registry",
    "tests.support.containerd",
    "tests.support.gobuild",
    "tests.support.sshd",
    "tests.support.bed",
    "tests.support.port",
    "tests.support.isa",
]


def pytest_collection_modifyitems(config, items):
    """The journey (tests/journey) runs last: it starts the bed's node afresh."""
    items.sort(key=lambda item: item.get_closest_marker("journey") is not None)
