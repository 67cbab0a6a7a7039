"""``archport verify --host`` against the board, over SSH.

In the board's first state (every system image from a registry it cannot
resolve) verify must fail: the node passes, the system pods fail with
doctor's diagnosis of the failing pod and its fix, and every other check says
in one line why it did not pass.  Nothing is passed that was not run.  The
passing run is the journey's (doctor → port → deploy → verify).
"""
from __future__ import annotations

import json
import subprocess

from testbed import ssh
from tests.testbed import board
from tests.testbed.test_ssh_doctor import _settled


def _verify(bed, *extra: str) -> subprocess.CompletedProcess:
    d = ssh.door(bed.lay)
    return subprocess.run(["archport", "verify", "--host", f"root@127.0.0.1:{d.port}", "-i", str(d.key),
                           "-o", f"UserKnownHostsFile={d.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                           *extra], capture_output=True, text=True, timeout=900)


def test_verify_fails_on_the_first_state_with_doctors_diagnosis(bed):
    board.wait("every kube-system pod failing on its sandbox or pull", lambda: _settled(bed, "lookup"), 240)
    cp = _verify(bed, "--timeout", "15", "--json")
    assert "Traceback" not in cp.stderr, cp.stderr
    assert cp.returncode == 1, cp.stdout + cp.stderr
    doc = json.loads(cp.stdout)
    checks = {c["name"]: c for c in doc["boards"][0]["checks"]}
    assert list(checks) == ["nodes", "pods", "dns", "storage", "metrics", "ingress"]
    assert checks["nodes"]["ok"] and any("riscv64" in e for e in checks["nodes"]["evidence"])
    pods = checks["pods"]
    assert not pods["ok"] and pods["reason"].startswith("kube-system/")
    # doctor's words for this board, with its fix: the registry cannot be reached
    # (or, for a pod whose earlier pulls went through a mirror another test set
    # up, the image has no linux/riscv64 variant)
    assert "fix:" in pods["reason"], pods["reason"]
    assert "cannot be reached" in pods["reason"] or "has no linux/riscv64 variant" in pods["reason"], pods["reason"]
    for name in ("dns", "storage", "metrics"):
        assert not checks[name]["ok"] and checks[name]["reason"], checks[name]
        assert "\n" not in checks[name]["reason"]
    # the check namespace is gone (deletion was asked for)
    ns = bed.kubectl("get", "namespace", "archport-verify", "-o", "json", check=False)
    assert ns.returncode != 0 or json.loads(ns.stdout)["status"]["phase"] == "Terminating"


def test_verify_bad_input(bed):
    cp = _verify(bed, "--timeout", "0")
    assert cp.returncode == 2 and cp.stderr.count("\n") == 1, cp.stderr
