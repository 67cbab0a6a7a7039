"""A registry this machine cannot reach is said once for all the images it
leaves unchecked, with the flag that gets an answer anyway (--mirror), and
never with `archport port` as the next step: port would fail the same way."""

from __future__ import annotations

import json

from archport import platform as plat
from archport.audit.inventory import Inventory, Need
from archport.audit.report import audit
from archport.reference import DEFAULT_DOMAIN
from archport.registry.errors import Refused
from tests.support.cli import archport

# A network namespace with a down loopback only: no name resolves.
OFFLINE = ("unshare", "-n")


def test_offline_audit_says_the_registry_once_with_every_image_and_the_mirror_flag(tmp_path):
    p = archport("audit", "--k3s", "v1.24.2", cwd=tmp_path, wrap=OFFLINE, expect=1)
    out = " ".join(p.stdout.split())                        # as read, not as wrapped at 80 columns
    cause = f"cannot reach registry {DEFAULT_DOMAIN}: this machine cannot resolve its name"
    assert out.count(cause) == 1, p.stdout                  # once, not once per image
    line = out[out.index(cause):out.index("next:")]
    assert "not checked: 8 images (" in line
    for name in ("rancher/mirrored-pause:3.6", "rancher/klipper-lb:v0.3.5", "rancher/mirrored-coredns-coredns:1.9.1"):
        assert name in line
    assert out.count(f"--mirror {DEFAULT_DOMAIN}=HOST") == 1
    assert "archport port" not in out                       # it would fail the same way
    assert "8 of 8 images could not be checked" in out and "lack linux/riscv64" not in out
    doc = json.loads(archport("--json", "audit", "--k3s", "v1.24.2", cwd=tmp_path, wrap=OFFLINE, expect=1).stdout)
    assert [(u["registry"], len(u["images"])) for u in doc["unreachable"]] == [(DEFAULT_DOMAIN, 8)]
    assert all(i["attempts"][0]["unreachable"] == DEFAULT_DOMAIN for i in doc["images"])


def test_a_refused_registry_is_one_group_and_answered_images_are_not_in_it():
    """Pure: the grouping over what the lookup raised (a closed port here)."""
    needs = tuple(Need(f"127.0.0.1:1/team/app{i}:1", (("pod", "p"),)) for i in range(3)) + \
        (Need("127.0.0.2:5000/team/ok:1", (("pod", "p"),)),)
    inv = Inventory(needs=needs)

    def lookup(ep):
        if ep.host == "127.0.0.1:1":
            raise Refused("GET http://127.0.0.1:1/v2/: connection refused", ep.host)
        return [plat.parse("linux/riscv64")]

    result = audit(inv, plat.parse("linux/riscv64"), lookup=lookup, workers=1)
    (u,) = result.unreached
    assert u.registry == "127.0.0.1:1" and "connection refused" in u.cause
    assert u.images == ("127.0.0.1:1/team/app0:1", "127.0.0.1:1/team/app1:1", "127.0.0.1:1/team/app2:1")


def test_a_dead_mirror_of_the_node_is_named_as_the_node_s_mirror(capsys):
    """Both the node's registries.yaml mirror and the registry itself are
    unreachable from here: two causes, the mirror said as the node's own."""
    from rich.console import Console

    from archport.cli.cmd_audit import render
    from archport.k3s.registries import parse as parse_registries

    regs = parse_registries({"mirrors": {"127.0.0.3:5000": {"endpoint": ["http://127.0.0.1:1"]}}})
    inv = Inventory(needs=(Need("127.0.0.3:5000/team/app:1", (("pod", "p"),)),))

    def lookup(ep):
        raise Refused(f"GET {ep.url}/v2/: connection refused", ep.host)

    result = audit(inv, plat.parse("linux/riscv64"), regs, lookup=lookup, workers=1)
    assert [(u.registry, u.mirror_of) for u in result.unreached] == [("127.0.0.1:1", "127.0.0.3:5000"),
                                                                     ("127.0.0.3:5000", "")]
    render(Console(width=200), result)
    out = capsys.readouterr().out
    assert "cannot reach the node's mirror 127.0.0.1:1 (for 127.0.0.3:5000)" in out
    assert "--mirror 127.0.0.1:1=HOST" not in out and "--mirror 127.0.0.3:5000=HOST" in out
