import pytest

from archport.catalog import versions
from archport.errors import BadInput


@pytest.mark.parametrize("a,b,want", [
    ("v1.9.1", "1.9.1", 0),
    ("v0.0.0-20190712062909-fae7ac547cb7", "v0.0.0-20190726091711-fc99dfbffb4e", -1),
    ("v0.0.0-20220722155237-a158d28d115b", "v0.1.0", -1),
    ("v0.1.0", "v0.1.0-0.20220101000000-abcdefabcdef", 1),  # pseudo-version before v0.1.0
    ("v1.0.1", "v1.0.2", -1),
    ("v1.2.3-rc.10", "v1.2.3-rc.9", 1),                     # numeric identifiers compare as numbers
    ("v1.2.3-alpha", "v1.2.3", -1),
    ("v2.0.0+incompatible", "v2.0.0", 0),
    ("3.6", "3.10", -1),
    ("v0.7.3-build20220613", "v0.7.4-build20221121", -1),
])
def test_compare(a, b, want):
    assert versions.compare(a, b) == want


def test_pseudo_time():
    assert versions.parse("v0.0.0-20190726091711-fc99dfbffb4e").pseudo_time == "20190726091711"
    assert versions.parse("v1.2.4-0.20220101000000-abcdefabcdef").pseudo_time == "20220101000000"
    assert versions.parse("v1.2.3").pseudo_time is None


def test_ranges():
    r = versions.parse_range(">=1.11.0")
    assert "1.11.0" in r and "1.13.1" in r and "1.10.1" not in r
    r = versions.parse_range(">=0.5.0, <0.6.0")
    assert "v0.5.2" in r and "v0.6.0" not in r
    assert "9.9.9" in versions.parse_range("")
    assert "v0.0.0-20220127200216-cd36cc0744dd" in versions.parse_range("<v0.1.0")
    assert "v0.4.0" not in versions.parse_range("<v0.1.0")


def test_go_versions():
    r = versions.parse_range(">=1.23", go=True)
    assert versions.parse_go("go1.23.4") in r
    assert versions.parse_go("1.26") in r
    assert versions.parse_go("go1.22.12") not in r
    assert versions.parse_go("go1.21rc2") < versions.parse_go("go1.21.0")


@pytest.mark.parametrize("bad", ["", "x1.2", "1.2.3.4", "latest"])
def test_bad_versions(bad):
    with pytest.raises(BadInput):
        versions.parse(bad)


def test_bad_range():
    with pytest.raises(BadInput):
        versions.parse_range("1.2.3")
