"""pytest fixtures: a private containerd for the session, and qemu binfmt.

Use from a conftest (``pytest_plugins = ["tests.support.containerd"]`` in the
root ``tests/conftest.py``, or import the fixtures by name)::

    def test_import(containerd, tmp_path):
        containerd.ctr("images", "import", str(archive))
        out = containerd.ctr("images", "ls", "-q").stdout

    def test_run(containerd, binfmt_riscv64):
        cp = containerd.ctr("run", "--rm", "--platform", "linux/riscv64", name, "t1", check=False)

The containerd is archport's own start-up code (:mod:`archport.smoke.containerd`),
so the suite exercises what ``archport smoke`` runs.  It needs root, like
containerd itself; it never skips — a machine that cannot start it fails loudly
with containerd's own last log line.
"""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass

import pytest

from archport import emulation
from archport.platform import RISCV64
from archport.smoke.containerd import NAMESPACE, Endpoint, Private


@dataclass(frozen=True)
class Containerd:
    """What the fixture yields: ``address``, ``snapshotter`` and ``ctr``."""

    endpoint: Endpoint
    log_path: str

    @property
    def address(self) -> str:
        return self.endpoint.address

    @property
    def snapshotter(self) -> str:
        return self.endpoint.snapshotter

    def ctr(self, *args: str, namespace: str = NAMESPACE, check: bool = True,
            timeout: float | None = 120, input: bytes | None = None) -> subprocess.CompletedProcess:
        """``ctr --address SOCK -n NAMESPACE ARGS`` (text output; raises
        ``archport.smoke.containerd.ContainerdError`` on failure if ``check``).
        The snapshotter is passed through ``CONTAINERD_SNAPSHOTTER``."""
        return self.endpoint.ctr(*args, namespace=namespace, check=check, timeout=timeout, input=input)

    def fresh_namespace(self) -> str:
        """A namespace no other test uses (images lists stay independent)."""
        return "t-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
def containerd():
    private = Private()
    endpoint = private.start()
    try:
        yield Containerd(endpoint, str(private.log_path))
    finally:
        private.stop()


@pytest.fixture(scope="session")
def binfmt_riscv64():
    """qemu-riscv64 registered in binfmt_misc with the F flag (registers it
    when needed; fails with the one-line reason when it cannot)."""
    st = emulation.register(RISCV64)
    assert st.ready, st.missing
    return st
