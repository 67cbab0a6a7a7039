import pytest

from archport import platform as p
from archport.errors import BadInput


@pytest.mark.parametrize("text,expected", [
    ("linux/riscv64", "linux/riscv64"), ("riscv64", "linux/riscv64"),
    ("linux/arm/v7", "linux/arm/v7"), ("linux/arm", "linux/arm/v7"), ("linux/arm/7", "linux/arm/v7"),
    ("linux/arm64/v8", "linux/arm64"), ("linux/aarch64", "linux/arm64"), ("linux/x86_64", "linux/amd64"),
    ("linux/loongarch64", "linux/loong64"),
])
def test_parse(text, expected):
    assert str(p.parse(text)) == expected


@pytest.mark.parametrize("uname,expected", [
    ("x86_64", "linux/amd64"), ("aarch64", "linux/arm64"), ("riscv64", "linux/riscv64"),
    ("armv7l", "linux/arm/v7"), ("armv6l", "linux/arm/v6"), ("i686", "linux/386"),
    ("ppc64le", "linux/ppc64le"), ("s390x", "linux/s390x"), ("loongarch64", "linux/loong64"),
])
def test_uname(uname, expected):
    assert str(p.from_uname(uname)) == expected


def test_riscv64_has_no_variant():
    assert p.parse("linux/riscv64").variant == ""
    assert p.Platform.from_dict({"os": "linux", "architecture": "riscv64"}).to_dict() == {"architecture": "riscv64", "os": "linux"}


def test_matches():
    assert p.Platform("linux", "arm64", "v8").matches(p.Platform("linux", "arm64"))
    assert not p.Platform("linux", "arm", "v6").matches(p.Platform("linux", "arm", "v7"))
    assert not p.RISCV64.matches(p.AMD64)


@pytest.mark.parametrize("bad", ["", "linux/", "a/b/c/d", "plan9/amd64", "/riscv64"])
def test_bad(bad):
    with pytest.raises(BadInput):
        p.parse(bad)
    

def test_bad_uname():
    with pytest.raises(BadInput):
        p.from_uname("pdp11")


@pytest.mark.parametrize("bad", ["linux", "linux/linux", "windows/Windows", "linux/rïscv64", "linux/risc.v64",
                                 "linux/arm/v\u0667", "linux/arm\n/v7"])
def test_os_for_arch_and_non_ascii_are_refused(bad):
    with pytest.raises(BadInput, match="invalid platform"):
        p.parse(bad)
