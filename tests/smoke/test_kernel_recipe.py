"""Kernel smoke runs, the pure parts: the recipe's ``[smoke.kernel]`` table,
module load order from ``.modinfo`` facts, the machine's init script and
reading its console, and judging the report.  The real boot (Debian's
riscv64 kernel under qemu-system-riscv64) is proven end to end by the
klipper-lb port (tests/transplant/test_klipper_lb.py)."""

from __future__ import annotations

import base64
import subprocess

import pytest

from archport.catalog import CatalogError, load, load_texts
from archport.catalog.smoke import KernelRun
from archport.fetch.kernel import KernelError, dependencies, load_order
from archport.smoke import guest, vm

from .test_recipe import COMPONENT

KERNEL = '''
ready = "running"
seconds = 5
env = { DEST_IPS = "10.43.0.10" }
source = "https://example.test/entry"
[smoke.kernel]
modules = ["iptable_nat"]
sysctls = { "net.ipv4.ip_forward" = "1" }
then = [["iptables", "-t", "nat", "-S"]]
expect = ["^-A POSTROUTING .* -j MASQUERADE$"]
'''


def test_a_kernel_recipe_parses():
    cat = load_texts({"components/example.toml": COMPONENT + "[[smoke]]\n" + KERNEL})
    r = cat.component("example").smoke_recipe("v1.0.0")
    assert r.env == (("DEST_IPS", "10.43.0.10"),)
    assert r.kernel == KernelRun(("iptable_nat",), (("net.ipv4.ip_forward", "1"),),
                                 (("iptables", "-t", "nat", "-S"),), ("^-A POSTROUTING .* -j MASQUERADE$",))
    assert "iptables -t nat -S shows 1 expected line" in r.kernel.describe()


@pytest.mark.parametrize("change, message", [
    (('modules = ["iptable_nat"]', 'modules = ["../evil"]'), "module names"),
    (('"net.ipv4.ip_forward" = "1"', '"../../x" = "1"'), "dotted names"),
    (('then = [["iptables", "-t", "nat", "-S"]]', 'then = ["iptables -S"]'), "list of commands"),
    (('then = [["iptables", "-t", "nat", "-S"]]', 'then = []'), "judges the output of then"),
    (('expect = ["^-A POSTROUTING .* -j MASQUERADE$"]', 'expect = ["("]'), "not a regular expression"),
    (('[smoke.kernel]', '[smoke.kernel]\nboot = "x"'), "unknown keys in kernel"),
    (('ready = "running"\nseconds = 5', 'ready = "http"\nport = 80'), "exit\" or \"running"),
    (('env = { DEST_IPS = "10.43.0.10" }', 'env = { "1X" = "y" }'), "env maps variable names"),
])
def test_malformed_kernel_tables_are_catalog_errors(change, message):
    with pytest.raises(CatalogError, match=message):
        load_texts({"components/example.toml": COMPONENT + "[[smoke]]\n" + KERNEL.replace(*change)})


def test_klipper_lb_recipe_needs_the_kernel_and_names_its_rules():
    r = load().component("klipper-lb").smoke_recipe("v0.3.5")
    assert r.kernel is not None and "iptable_nat" in r.kernel.modules and "nft_compat" in r.kernel.modules
    assert dict(r.env)["DEST_IPS"] == "10.43.0.10" and dict(r.kernel.sysctls) == {"net.ipv4.ip_forward": "1"}
    assert r.kernel.then == (("iptables", "-t", "nat", "-S"),) and len(r.kernel.expect) == 2


# -- module order ---------------------------------------------------------------

INDEX = {
    "iptable_nat": {"depends": ["x_tables", "ip_tables", "nf_nat"], "pre": [], "alias": []},
    "ip_tables": {"depends": ["x_tables"], "pre": [], "alias": ["ipt"]},
    "x_tables": {"depends": [], "pre": [], "alias": []},
    "nf_nat": {"depends": ["nf_conntrack"], "pre": [], "alias": []},
    "nf_conntrack": {"depends": ["libcrc32c"], "pre": [], "alias": []},
    "libcrc32c": {"depends": [], "pre": ["crc32c"], "alias": []},
    "crc32c_generic": {"depends": [], "pre": [], "alias": ["crc32c", "crypto-crc32c"]},
    "needs_missing": {"depends": ["gone"], "pre": [], "alias": []},
    "soft_missing": {"depends": [], "pre": ["nowhere"], "alias": []},
    "loop_a": {"depends": ["loop_b"], "pre": [], "alias": []},
    "loop_b": {"depends": ["loop_a"], "pre": [], "alias": []},
}


def test_modules_load_after_what_they_depend_on_soft_pre_dependencies_by_alias():
    order = load_order(("iptable_nat",), dependencies(INDEX), builtin=set())
    assert order == ["x_tables", "ip_tables", "crc32c_generic", "libcrc32c", "nf_conntrack", "nf_nat", "iptable_nat"]
    assert load_order(("iptable_nat",), dependencies(INDEX), builtin={"x_tables", "libcrc32c"}) == \
        ["ip_tables", "nf_conntrack", "nf_nat", "iptable_nat"]
    assert load_order(("soft_missing",), dependencies(INDEX), set()) == ["soft_missing"]   # as modprobe


def test_a_missing_module_or_a_cycle_is_a_clear_error():
    with pytest.raises(KernelError, match="no module gone .needed by needs_missing"):
        load_order(("needs_missing",), dependencies(INDEX), set())
    with pytest.raises(KernelError, match="no module iptable_legacy"):
        load_order(("iptable-legacy",), dependencies(INDEX), set())
    with pytest.raises(KernelError, match="cycle: loop_a -> loop_b -> loop_a"):
        load_order(("loop_a",), dependencies(INDEX), set())


# -- the machine's init and its console ---------------------------------------------

PLAN = guest.Plan(("/usr/bin/entry",), (("PATH", "/usr/sbin:/usr/bin"), ("DEST_IPS", "10.43.0.10 fd00::1")), "/",
                  ("x_tables", "ip_tables"), (("net.ipv4.ip_forward", "1"),), "running", 5.0,
                  (("iptables", "-t", "nat", "-S"),))


def test_the_init_script_is_valid_shell_and_quotes_every_value():
    text = guest.script(PLAN, "@@m")
    assert text.startswith("#!/.archport/busybox sh\n")
    subprocess.run(["sh", "-n"], input=text, text=True, check=True)          # parses
    assert "'DEST_IPS=10.43.0.10 fd00::1'" in text
    assert "$B insmod /.archport/modules/x_tables.ko" in text.split("ip_tables.ko")[0]
    assert "> /proc/sys/net/ipv4/ip_forward" in text
    assert "[ $n -lt 25 ]" in text                                            # 5 s in 0.2 s ticks


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def test_the_console_is_read_between_kernel_messages_and_only_with_the_marker():
    console = "\r\n".join([
        "OpenSBI v1.1",
        "[    0.9] Run /.archport/init as init process",
        "@@m booted",
        "@@other stdout " + _b64("forged"),
        "[    1.2] random: crng init done",
        "@@m running",
        "@@m stdout " + _b64("+ iptables -t nat -I PREROUTING\n"),
        "@@m stderr ",
        "@@m then 0 0 " + _b64("-A POSTROUTING -d 10.43.0.10/32 -p tcp -j MASQUERADE\n"),
        "@@m end", "[    2.0] reboot: Power down", ""])
    rep = guest.read_console(console, "@@m", PLAN.then)
    assert rep.booted and rep.state == "running" and rep.problems == ()
    assert rep.stdout == "+ iptables -t nat -I PREROUTING\n" and rep.stderr == ""
    assert rep.then == ((("iptables", "-t", "nat", "-S"), 0, "-A POSTROUTING -d 10.43.0.10/32 -p tcp -j MASQUERADE\n"),)


def test_judging_the_report():
    kr = KernelRun((), (), (("iptables", "-t", "nat", "-S"),), (r"^-A POSTROUTING .* -j MASQUERADE$",))
    ok = guest.Report(True, (), "running", None, "", "", ((("iptables", "-t", "nat", "-S"), 0,
                                                            "-A POSTROUTING -d 1.2.3.4/32 -p tcp -j MASQUERADE\n"),))
    w = vm.judge(ok, kr, "running", 5, "", True, 7.0)
    assert w.ready and "still running after 5s" in w.said and "1 of 1 expected lines" in w.said

    exited = guest.Report(True, ("insmod nf_nat",), "exited", 1, "", "ipv4 forwarding is off\n",
                          ((("iptables", "-t", "nat", "-S"), 0, ""),))
    w = vm.judge(exited, kr, "running", 5, "", True, 3.0)
    assert w.ready is False and w.exit_code == 1
    assert "set-up: insmod nf_nat" in w.said and "exited 1 before 5s" in w.said and "missing" in w.said

    never = guest.Report(False, (), "", None, "", "", ())
    w = vm.judge(never, kr, "running", 5, "Kernel panic - not syncing: no init found\n", True, 2.0)
    assert w.ready is False and "never started its init" in w.said and "Kernel panic" in w.said
    w = vm.judge(never, kr, "running", 5, "", False, 200.0)
    assert w.timed_out and "did not finish in time" in w.said


def test_a_platform_archport_cannot_boot_is_refused_with_the_reason():
    from archport.platform import parse
    assert vm.machine(parse("linux/riscv64")).qemu == "qemu-system-riscv64"
    with pytest.raises(Exception, match="not supported yet"):
        vm.machine(parse("linux/s390x"))
