"""The committed fixture dumps are exactly what make_fixtures.py writes."""

import filecmp
import importlib.util
from pathlib import Path

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "doctor"


def test_make_fixtures_reproduces_the_committed_dumps(tmp_path):
    spec = importlib.util.spec_from_file_location("make_fixtures", FIX / "make_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.HERE = tmp_path
    for fn in (mod.broken, mod.healthy, mod.pause_missing, mod.mirror_https):
        fn()
    for d in ("broken-riscv64", "healthy", "pause-missing", "mirror-https"):
        cmp = filecmp.dircmp(FIX / d, tmp_path / d)
        assert not (cmp.diff_files or cmp.left_only or cmp.right_only), (d, cmp.diff_files, cmp.left_only)
