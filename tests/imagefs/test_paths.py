"""One judgement of a layer entry's name, for every reader."""

from __future__ import annotations

import pytest

from archport.imagefs.paths import DELETE, EMPTY, ENTRY, parse_name


@pytest.mark.parametrize("raw", [".wh...", "a/.wh...", ".wh..", ".wh.", "./a/b/.wh..."])
def test_whiteouts_that_name_no_file_of_their_directory_are_refused(raw):
    n = parse_name(raw)
    assert n.kind == DELETE and n.refused and "whiteout" in n.refused


def test_names_are_cleaned_against_the_root():
    assert parse_name("a/.wh.b").comps == ("a", "b") and parse_name("a/.wh.b").kind == DELETE
    assert parse_name("a/.wh..wh..opq").kind == EMPTY and parse_name("a/.wh..wh..opq").comps == ("a",)
    n = parse_name("../../etc/passwd")
    assert n.kind == ENTRY and n.climbed and n.dotdot and n.path == "/etc/passwd"
    n = parse_name("a/../b")
    assert not n.climbed and n.dotdot and n.path == "/b"
    assert parse_name("/abs").absolute and parse_name("./x/./y").path == "/x/y"
