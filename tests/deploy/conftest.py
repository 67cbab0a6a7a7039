import pytest

from tests.support import board as _board


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
    return standin_board
