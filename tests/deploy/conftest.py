import pytest

from tests.support import board as _board
from tests.support import clients


@pytest.fixture(scope="module")
def standin_board(tmp_path_factory):
    b = _board.make(tmp_path_factory.mktemp("deploy-board"))
    try:
        yield b
    finally:
        b.server.stop()


@pytest.fixture
def board(standin_board):
    standin_board.reset()
    yield standin_board
    # Every registries.yaml deploy wrote must read in k3s's own registry types, strictly.
    written = standin_board.root / "etc/rancher/k3s/registries.yaml"
    if written.is_file() and not written.is_symlink() and written.read_text() != standin_board.given_registries:
        clients.check_registries_yaml(written)
