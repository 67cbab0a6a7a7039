"""The riscv64 test bed as pytest fixtures: one bed per session, for every
test that needs a board (tests/testbed, and the bed tests of audit, deploy
and verify), registered for the whole suite in tests/conftest.py.

``bed`` builds whatever component is missing (a cold machine: about half an
hour, progress on stderr), brings the bed up, and takes it down at the end
unless it was already running before the session (a developer's bed is left
as found).  When a test fails, the tail of every component's log is added to
its report.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import pytest

from testbed import config, k3s, node, paths, sessions
from tests.testbed import hostsnap

LOG_TAIL = 60


@dataclass
class Bed:
    lay: paths.Layout
    host_before: dict | None          # None when the bed was up before the session

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        cp = node.kubectl(list(args), self.lay.root, timeout=timeout)
        if check and cp.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {cp.stderr.strip()}")
        return cp

    def record(self, what: str, seconds: float) -> None:
        """Keep a measured duration (BENCHMARKS.md's "Test bed" numbers)."""
        with open(self.lay.run / "timings.tsv", "a") as fh:
            fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')}\t{what}\t{seconds:.1f}\n")

    def kubectl_json(self, *args: str) -> dict:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)


_layouts: list[paths.Layout] = []


@pytest.fixture(scope="session")
def bed(request) -> Bed:
    """The bed, shared with any other test session using it at the same time;
    taken down by the last session out if a test session brought it up (a
    developer's ``scripts/testbed.sh up`` is left running)."""
    lay = paths.layout()
    _layouts.append(lay)
    was_up = all(node.status().values()) and node.node_ready(lay)
    before = None if was_up else hostsnap.snapshot()
    t0 = time.monotonic()
    # Progress straight to the terminal: a cold machine builds for half an hour.
    capman = request.config.pluginmanager.getplugin("capturemanager")
    if not was_up and not sessions.other_users(lay):
        node.purge()        # each session that starts the bed starts from a fresh node
    sessions.add_user(lay, started_it=not was_up)     # before up: a session ending now must see us
    try:
        with capman.global_and_fixture_disabled():
            print(f"\n[testbed] bringing the bed up in {lay.root} (components cached in {paths.CACHE})",
                  file=sys.stderr, flush=True)
            k3s.up()
    except BaseException:
        sessions.release_user(lay)      # a half-started bed is not left running
        raise
    b = Bed(lay, before)
    b.record("session up (bed was up already)" if was_up else "session up", time.monotonic() - t0)
    yield b
    sessions.release_user(lay)


@pytest.fixture(scope="module")
def default_runtime(bed: Bed) -> Bed:
    """The node's own containerd configuration (the bed's riscv64 pause image
    as sandbox image).  Tests of the k3s stand-in may leave another one."""
    want = config.containerd_config()
    if bed.lay.containerd_config.read_text() != want:
        bed.lay.containerd_config.write_text(want)
        node.restart_runtime(bed.lay.root)
        deadline = time.monotonic() + 120
        while not node.node_ready(bed.lay) and time.monotonic() < deadline:
            time.sleep(1)
    return bed


@pytest.fixture(scope="module")
def test_namespace(default_runtime: Bed, request) -> str:
    # A fresh name each time: the bed's datastore outlives sessions, and a
    # namespace of an earlier one may still be Terminating (its deletion waits
    # on every APIService, metrics-server's included, being Available).
    ns = "testbed-" + request.module.__name__.rsplit(".", 1)[-1].replace("_", "-") + "-" + uuid.uuid4().hex[:6]
    default_runtime.kubectl("create", "namespace", ns)
    # Pods are refused until the service-account controller made "default".
    deadline = time.monotonic() + 60
    while default_runtime.kubectl("-n", ns, "get", "serviceaccount", "default", check=False).returncode != 0:
        assert time.monotonic() < deadline, "no default service account"
        time.sleep(0.5)
    yield ns
    default_runtime.kubectl("delete", "namespace", ns, "--wait=false", check=False)


@pytest.fixture(scope="session")
def board_registry(bed: Bed, tmp_path_factory):
    """A plain-HTTP loopback registry that the board reaches at the same address."""
    from tests.support.registry import Registry
    reg = Registry(tmp_path_factory.mktemp("board-registry"))
    reg.start()
    try:
        node.forward_host_port(reg.port)
        yield reg
    finally:
        node.stop_service(f"forward-to-host-{reg.port}")
        reg.stop()


def _log_tails(lay: paths.Layout) -> str:
    parts = []
    for log in sorted(lay.logs.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL:]
        parts.append(f"==> {log} (last {len(lines)} lines) <==\n" + "\n".join(lines))
    return "\n\n".join(parts)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _layouts:
        report.sections.append(("test bed logs", _log_tails(_layouts[0])))
        st = node.status(_layouts[0].root)
        report.sections.append(("test bed status", "\n".join(f"{k}: {v}" for k, v in st.items())))
