"""Fixtures from tests/support, registered for the whole suite (one session
registry, one session containerd, one Go build cache)."""

import os

# No test reads a k3s release's list past loopback: those that read one name
# their own server with --releases-url (tests/catalog/test_remote.py).
os.environ.setdefault("ARCHPORT_K3S_RELEASES_URL", "off")

pytest_plugins = [
    "tests.support.registry",
    "tests.support.containerd",
    "tests.support.gobuild",
    "tests.support.sshd",
    "tests.support.bed",
    "tests.support.port",
    "tests.support.isa",
]


# Where the tests of the bed live (some build its pieces without the fixture),
# besides any test whose fixtures include ``bed`` (board_registry,
# test_namespace… depend on it).  tests/board needs no bed: it stays in place.
BED_DIRS = ("testbed", "journey")


def uses_bed(item) -> bool:
    try:
        rel = item.path.relative_to(item.config.rootpath).parts
    except ValueError:
        rel = ()
    in_dir = len(rel) > 2 and rel[0] == "tests" and rel[1] in BED_DIRS
    return "bed" in getattr(item, "fixturenames", ()) or in_dir or item.path.name == "test_bed.py"


def pytest_collection_modifyitems(config, items):
    """The modules with a test that needs the bed run after all the others,
    in their own order (a module stays whole: its fixtures are set up once):
    on a cold machine the bed's components build in the background
    (scripts/prefetch.py) while the others run.  The journey (tests/journey)
    runs last of all: it starts the bed's node afresh."""
    late = {item.path for item in items if uses_bed(item)}
    items.sort(key=lambda item: (item.path in late, item.get_closest_marker("journey") is not None))
