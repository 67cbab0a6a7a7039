"""tests/conftest.py's ordering: the modules with a test that needs the bed run
after all the others, each group in its collected order, the journey last.

Collected (never run) by a pytest of its own on a tiny tree whose root
conftest takes the hook from tests/conftest.py."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

HOOK = Path(__file__).with_name("conftest.py")

ROOT_CONFTEST = f"""
import importlib.util
import pytest

_spec = importlib.util.spec_from_file_location("archport_tests_conftest", {str(HOOK)!r})
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
pytest_collection_modifyitems = _mod.pytest_collection_modifyitems


@pytest.fixture
def bed():
    return "bed"


@pytest.fixture
def board_registry(bed):
    return bed
"""

FILES = {
    "tests/a/test_a.py": """
        def test_a_bed(bed): pass
        def test_a_through_another_fixture(board_registry): pass
    """,
    "tests/a/test_plain.py": "def test_a_plain(): pass\n",
    "tests/audit/test_bed.py": "def test_audit_on_the_bed(): pass\n",
    "tests/board/test_board.py": "def test_board_needs_no_bed(): pass\n",
    "tests/journey/test_journey.py": """
        import pytest
        @pytest.mark.journey
        def test_journey(bed): pass
    """,
    "tests/testbed/test_unit.py": "def test_testbed_unit(): pass\n",
    "tests/y/test_y.py": "def test_y_plain(): pass\n",
    "tests/z/test_z.py": """
        def test_z_plain(): pass
        def test_z_bed(bed): pass
    """,
}


def test_the_bed_tests_run_last_in_their_order(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    journey: last\n")
    (tmp_path / "conftest.py").write_text(ROOT_CONFTEST)
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    cp = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    order = [line.rpartition("::")[2] for line in cp.stdout.splitlines() if "::" in line]
    assert order == [
        "test_a_plain", "test_board_needs_no_bed", "test_y_plain",
        # a module with one test on the bed moves whole (test_z_plain with it)
        "test_a_bed", "test_a_through_another_fixture", "test_audit_on_the_bed", "test_testbed_unit",
        "test_z_plain", "test_z_bed",
        "test_journey",
    ], order
