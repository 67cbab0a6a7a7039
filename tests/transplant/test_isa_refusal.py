"""transplant refuses a package base whose binaries need more than the target
profile: real binaries (Go GORISCV64=rva23u64, gcc -march=rv64gcv) as a
base's packages would ship them."""

from __future__ import annotations

import pytest

from archport.assemble.layer import FileSpec
from archport.errors import NotPortable
from archport.platform import RISCV64, parse
from archport.strategies.transplant_isa import refuse_above
from archport.transplant.compose import Userland


def userland(*files: tuple[str, str, bytes]) -> Userland:
    packages = [(f"Debian {pkg}", (FileSpec(path, data=data, mode=0o755), FileSpec(f"usr/share/doc/{pkg}/x",
                                                                                    data=b"text")))
                for pkg, path, data in files]
    return Userland(label="Debian forky riscv64", source="http://127.0.0.1:8080/debian forky/riscv64",
                    packages=packages, aliases={}, alias_label="", configured=[], records=[], versions="",
                    count=len(packages))


def test_a_base_built_for_rva23_is_refused_naming_binary_and_source(isa_programs):
    land = userland(("coreutils", "usr/bin/ls", isa_programs["c-rv64gc"].read_bytes()),
                    ("libvec", "usr/lib/riscv64-linux-gnu/vec", isa_programs["c-rv64gcv"].read_bytes()))
    with pytest.raises(NotPortable) as e:
        refuse_above(land, RISCV64, "rva20u64")
    msg = e.value.reason
    assert msg.startswith("Debian forky riscv64 (http://127.0.0.1:8080/debian forky/riscv64): "
                          "/usr/lib/riscv64-linux-gnu/vec of Debian libvec needs v")
    assert "which RVA20U64 lacks (built with Tag_RISCV_arch rv64i" in msg
    assert "--transplant-onto" in e.value.next_step


def test_go_binaries_say_their_goriscv64(isa_programs):
    land = userland(("app", "usr/bin/app", isa_programs["go-rva23u64"].read_bytes()))
    with pytest.raises(NotPortable) as e:
        refuse_above(land, RISCV64, "rva22u64")
    assert "/usr/bin/app of Debian app needs " in e.value.reason and "GORISCV64=rva23u64" in e.value.reason
    assert "which RVA22U64 lacks" in e.value.reason


def test_a_base_at_or_below_the_profile_passes(isa_programs):
    land = userland(("coreutils", "usr/bin/ls", isa_programs["c-rv64gc"].read_bytes()),
                    ("app", "usr/bin/app", isa_programs["go-rva20u64"].read_bytes()))
    assert refuse_above(land, RISCV64, "rva20u64") == 2
    high = userland(("app", "usr/bin/app", isa_programs["go-rva23u64"].read_bytes()))
    assert refuse_above(high, RISCV64, "rva23u64") == 1
    assert refuse_above(high, parse("linux/arm64"), "rva20u64") == 0
