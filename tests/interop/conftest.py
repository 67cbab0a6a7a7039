"""The other clients, built once per machine (tests/support/clients.py)."""

from __future__ import annotations

import subprocess

import pytest

from standins import images as I
from tests.support import clients


@pytest.fixture(scope="session")
def crane():
    exe = str(clients.crane())

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        cp = subprocess.run([exe, *args], capture_output=True, text=True, timeout=300)
        if check:
            assert cp.returncode == 0, f"crane {' '.join(args)}: {cp.stderr}"
        return cp
    return run


@pytest.fixture(scope="session")
def regctl(tmp_path_factory):
    exe = str(clients.regctl())
    home = tmp_path_factory.mktemp("regctl-home")     # regctl keeps its config under $HOME

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        cp = subprocess.run([exe, *args], capture_output=True, text=True, timeout=300,
                            env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
        if check:
            assert cp.returncode == 0, f"regctl {' '.join(args)}: {cp.stderr}"
        return cp
    return run


@pytest.fixture
def upstream(tmp_path):
    """Two Docker manifest lists and one single Docker manifest, as a k3s
    release's images mostly are."""
    pause, pimgs = I.multiarch(tmp_path, "pause", platforms=("linux/amd64", "linux/riscv64"), family="docker")
    dns, dimgs = I.multiarch(tmp_path, "coredns", platforms=("linux/amd64", "linux/riscv64"), family="docker")
    single = I.make_image("linux/riscv64", [I.layer_from_files({"x": b"x"}, media_type=I.DOCKER_LAYER)],
                          family="docker")
    root = I.write_layout(tmp_path / "up", {"p": (pause, pimgs), "d": (dns, dimgs), "s": (single.manifest, [single])})
    return root, {"p": (pause, pimgs), "d": (dns, dimgs), "s": (single.manifest, [single])}


@pytest.fixture(scope="session")
def syft(tmp_path_factory):
    """syft, scanning registries over plain HTTP (loopback only), offline."""
    exe = str(clients.syft())
    home = tmp_path_factory.mktemp("syft-home")

    def run(*args: str) -> subprocess.CompletedProcess:
        cp = subprocess.run([exe, *args], capture_output=True, text=True, timeout=600,
                            env={"HOME": str(home), "PATH": "/usr/bin:/bin", "SYFT_CHECK_FOR_APP_UPDATE": "false",
                                 "SYFT_REGISTRY_INSECURE_USE_HTTP": "true"})
        assert cp.returncode == 0, f"syft {' '.join(args)}: {cp.stderr}"
        return cp
    return run


@pytest.fixture(scope="session")
def oras(tmp_path_factory):
    exe = str(clients.oras())
    home = tmp_path_factory.mktemp("oras-home")

    def run(*args: str) -> subprocess.CompletedProcess:
        cp = subprocess.run([exe, *args], capture_output=True, text=True, timeout=300,
                            env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
        assert cp.returncode == 0, f"oras {' '.join(args)}: {cp.stderr}"
        return cp
    return run

