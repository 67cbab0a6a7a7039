"""Ansible-shaped inventories, YAML and INI."""

import pytest

from archport.errors import BadInput
from archport.node.boards import Host, SshOptions, connect
from archport.node.boards import parse_inventory as parse

YAML_INV = """\
all:
  vars:
    ansible_user: root
  hosts:
    lpi4a:
      ansible_host: 192.168.1.20
      ansible_port: 2222
  children:
    visionfive:
      vars: {ansible_ssh_private_key_file: /keys/vf2}
      hosts:
        vf2-a:
        vf2-b: {ansible_user: debian}
"""

INI_INV = """\
# boards on the bench
lpi4a ansible_host=192.168.1.20 ansible_port=2222

[visionfive]
vf2-a
vf2-b ansible_user=debian

[visionfive:vars]
ansible_ssh_private_key_file=/keys/vf2

[riscv:children]
visionfive

[all:vars]
ansible_user=root
"""


def test_yaml():
    got = {e.name: (e.host, e.identity) for e in parse(YAML_INV, "inv.yaml")}
    assert got == {"lpi4a": (Host("192.168.1.20", "root", 2222), None),
                   "vf2-a": (Host("vf2-a", "root"), "/keys/vf2"),
                   "vf2-b": (Host("vf2-b", "debian"), "/keys/vf2")}


def test_ini():
    got = {e.name: (e.host, e.identity) for e in parse(INI_INV, "inv.ini")}
    assert got == {"lpi4a": (Host("192.168.1.20", "root", 2222), None),
                   "vf2-a": (Host("vf2-a", "root"), "/keys/vf2"),
                   "vf2-b": (Host("vf2-b", "debian"), "/keys/vf2")}


@pytest.mark.parametrize("text, words", [
    ("all: {hosts: [", "not a YAML inventory"),
    ("- a\n- b\n", "mapping of groups"),
    ("all:\n  hosts: [a, b]\n", "'hosts' must be a mapping"),
    ("all:\n  hosts:\n    b1: {ansible_port: 70000}\n", "not between 1 and 65535"),
    ("[g]\nb1 ansible_port\n", "expected key=value"),
    ("[g]\nboard[01:10]\n", "host ranges"),
    ("[g:weird]\nb1\n", "unknown section kind"),
    ("# nothing\n", "empty inventory"),
    ("all:\n  hosts: {}\n", "no hosts"),
])
def test_bad_inventories_are_one_line(text, words):
    with pytest.raises(BadInput) as e:
        parse(text, "inv")
    assert words in str(e.value) and "\n" not in str(e.value)


def test_a_board_s_own_port_and_key_win_over_the_options():
    boards = {b.name: b for b in parse(YAML_INV, "inv.yaml")}
    opts = SshOptions(("StrictHostKeyChecking=yes",), "/cfg", 2200, "/keys/default")
    lpi = connect(boards["lpi4a"], opts)
    assert (lpi.destination, lpi.port, lpi.identity, lpi.config) == ("root@192.168.1.20", 2222, "/keys/default", "/cfg")
    assert lpi.options == ("StrictHostKeyChecking=yes",)
    vf2 = connect(boards["vf2-a"], opts)
    assert (vf2.destination, vf2.port, vf2.identity) == ("root@vf2-a", 2200, "/keys/vf2")
