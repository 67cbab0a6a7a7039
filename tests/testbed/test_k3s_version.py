"""`k3s --version` in k3s's format, and says it is the stand-in."""

import re
import subprocess
import sys

from standins.shared import _REPO


def test_version_format_and_standin_note():
    cp = subprocess.run([sys.executable, "-m", "testbed.k3s", "k3s", "--version"], capture_output=True, text=True,
                        cwd=_REPO, check=True)
    lines = cp.stdout.splitlines()
    assert re.fullmatch(r"k3s version v1\.24\.2\+k3s1 \([0-9a-f]{8}\)", lines[0])
    assert lines[1] == "go version go1.18.1"
    assert "stand-in" in lines[2] and "not k3s" in lines[2]


def test_doctor_reads_the_version_line():
    from archport.node import facts
    from testbed.k3s import version_text
    assert facts.PARSERS["version"](version_text()) == {"k3s_version": "v1.24.2+k3s1", "go_version": "go1.18.1"}
