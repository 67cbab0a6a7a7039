"""The one --host parser: [user@]host[:port], ssh://, IPv6 in brackets."""

import pytest

from archport.errors import BadInput
from archport.node.boards import Host, parse_host


@pytest.mark.parametrize("text, want", [
    ("board", Host("board")),
    ("root@board", Host("board", "root")),
    ("root@board:2222", Host("board", "root", 2222)),
    ("192.168.1.20:22", Host("192.168.1.20", None, 22)),
    ("ssh://debian@lpi4a.lan:2200", Host("lpi4a.lan", "debian", 2200)),
    ("ssh://lpi4a.lan/", Host("lpi4a.lan")),
    ("[fe80::1]:2222", Host("fe80::1", None, 2222)),
    ("root@[::1]", Host("::1", "root")),
    ("ssh://root@[2001:db8::7]:22", Host("2001:db8::7", "root", 22)),
    ("::1", Host("::1")),
    ("my_alias", Host("my_alias")),
])
def test_accepted(text, want):
    assert parse_host(text) == want


@pytest.mark.parametrize("text, words", [
    ("", "expected [USER@]HOST[:PORT]"),
    ("   ", "expected"),
    ("board:0", "not between 1 and 65535"),
    ("board:65536", "not between 1 and 65535"),
    ("board:ssh", "not a number"),
    ("http://board", "only ssh://"),
    ("-oProxyCommand=x", "bad host name"),
    ("root@", "no host name"),
    ("[fe80::1", "bad IPv6"),
    ("[board]:22", "bad IPv6"),
    ("[::1]22", "unexpected"),
    ("a b", "whitespace"),
    ("ro ot@board", "whitespace"),
    ("ssh://board/path", "path"),
])
def test_refused_in_one_line(text, words):
    with pytest.raises(BadInput) as e:
        parse_host(text)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_destination_and_display():
    h = parse_host("ssh://root@[fe80::1]:2222")
    assert h.destination == "root@fe80::1" and str(h) == "root@[fe80::1]:2222"
    assert str(parse_host("board")) == "board"
