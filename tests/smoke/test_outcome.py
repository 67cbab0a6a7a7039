"""A smoke outcome as typed data: the checks ``ok`` was judged on, and how
the program ended (exit code, the signal a 128+N status names, timeout)."""

from __future__ import annotations

import itertools

from archport.catalog.smoke import KernelRun
from archport.smoke import guest, vm
from archport.smoke.outcome import Check, SmokeResult, exit_signal


def _result(**kw) -> SmokeResult:
    return SmokeResult(**{"image": "x", "platform": "linux/riscv64", "path": "containerd", "argv": ("x",),
                          "exit_code": None, **kw})


def test_ok_is_every_check_passed_whatever_the_outcome():
    for code, timed_out, expect, ready, error, kernel in itertools.product(
            (None, 0, 1, 137), (False, True), (None, "ready"), (None, True, False), ("", "exec format error"),
            (False, True)):
        matched = None if expect is None or error else code == 0
        # a kernel run's own checks (vm.judge): ready when they all passed, else its exit
        judged = () if not kernel else (Check("set-up", True), Check("running", ready, "running", None)) \
            if ready is not None else (Check("set-up", True), Check("exit", code == 0, 0, code))
        r = _result(exit_code=code, timed_out=timed_out, expect=expect, matched=matched, ready=ready,
                    error=error, signal="HTTP GET" if ready is not None else "", judged=judged, seconds=1.5,
                    stdout="ready\n" if matched else "")
        assert r.checks, r
        assert r.ok == all(c.passed for c in r.checks), r


def test_the_json_has_the_checks_and_the_exit():
    doc = _result(exit_code=137, expect="ready", matched=False, stdout="starting\n").to_dict()
    assert doc["exit"] == {"code": 137, "signal": "SIGKILL", "timedOut": False}
    assert doc["checks"] == [
        {"name": "exit", "passed": False, "expected": 0, "observed": 137, "seconds": 0.0},
        {"name": "output", "passed": False, "expected": "ready", "observed": None, "seconds": None}]
    doc = _result(exit_code=0, expect="rea.y", matched=True, stdout="ready now\n").to_dict()
    assert doc["ok"] and doc["checks"][1] == {"name": "output", "passed": True, "expected": "rea.y",
                                               "observed": "ready", "seconds": None}
    doc = _result(path="none", error='exec: "x": executable file not found in $PATH').to_dict()
    assert doc["checks"] == [{"name": "start", "passed": False, "expected": None,
                              "observed": 'exec: "x": executable file not found in $PATH', "seconds": None}]


def test_exit_signal_reads_only_a_signal_status():
    assert [exit_signal(c) for c in (None, 0, 1, 128, 130, 137, 143, 255)] == \
        [None, None, None, None, "SIGINT", "SIGKILL", "SIGTERM", None]


def test_a_kernel_run_says_each_thing_it_judged():
    kr = KernelRun((), (), (("iptables", "-t", "nat", "-S"),), (r"^-A POSTROUTING .* -j MASQUERADE$", r"^-N KUBE"))
    rep = guest.Report(True, ("insmod nf_nat",), "running", None, "", "",
                       ((("iptables", "-t", "nat", "-S"), 0, "-A POSTROUTING -d 1.2.3.4/32 -p tcp -j MASQUERADE\n"),))
    w = vm.judge(rep, kr, "running", 5, "", True, 7.0)
    assert [(c.name, c.passed) for c in w.checks] == [("set-up", False), ("running", True), ("then output", True),
                                                      ("then output", False), ("then ran", True)]
    assert w.checks[0].observed == "insmod nf_nat"
    assert w.checks[2].observed == "-A POSTROUTING -d 1.2.3.4/32 -p tcp -j MASQUERADE"
    assert w.ready is False and w.ready == all(c.passed for c in w.checks)
    r = _result(path="kernel", ready=w.ready, said=w.said, judged=w.checks)
    assert r.checks == w.checks and not r.ok
    never = vm.judge(guest.Report(False, (), "", None, "", "", ()), kr, "running", 5, "", False, 200.0)
    assert [(c.name, c.passed) for c in never.checks] == [("boot", False)]
