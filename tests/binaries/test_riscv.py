"""What a RISC-V binary needs: its .riscv.attributes, its Go GORISCV64, and
what happens when the CPU lacks it (qemu-user, Debian's 7.2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archport.binaries import read_buildinfo
from archport.binaries.riscv import Attributes, parse_attributes, parse_isa, read_attributes
from archport.catalog import riscv as profiles
from archport.errors import BadInput
from tests.support.isa import RV64GC_CPUS, VECTOR_CPU, run_on


# --- ISA strings ------------------------------------------------------------------

@pytest.mark.parametrize("text,want", [
    # GCC 12's Tag_RISCV_arch: every extension versioned, single letters separated too
    ("rv64i2p1_m2p0_a2p1_f2p2_d2p2_c2p0_v1p0_zicsr2p0_zifencei2p0_zmmul1p0_zve32f1p0_zvl128b1p0",
     ("i", "m", "a", "f", "d", "c", "v", "zicsr", "zifencei", "zmmul", "zve32f", "zvl128b")),
    # a vendor kernel's /proc/cpuinfo: the privilege modes "su" are not extensions
    ("rv64imafdcvsu", ("i", "m", "a", "f", "d", "c", "v")),
    ("rv64imafdc_zicntr_zicsr_zifencei_zihpm_zba_zbb",
     ("i", "m", "a", "f", "d", "c", "zicntr", "zicsr", "zifencei", "zihpm", "zba", "zbb")),
    ("rv64gc_zba", ("g", "c", "zba")),
    ("rv64imafdczba", ("i", "m", "a", "f", "d", "c", "zba")),
    ("RV64IMAFDCH_Zba_Sstc_XTheadVector", ("i", "m", "a", "f", "d", "c", "h", "zba", "sstc", "xtheadvector")),
])
def test_isa_strings_read_as_their_extensions(text, want):
    assert parse_isa(text) == (64, want)


@pytest.mark.parametrize("text", ["x86_64", "rv64i_z", "rv64i2p1_1zba", "rv64im$", ""])
def test_what_is_not_an_isa_string_is_bad_input(text):
    with pytest.raises(BadInput):
        parse_isa(text)


# --- the attribute section by hand ---------------------------------------------------

def _uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def section(arch: str, vendor: bytes = b"riscv") -> bytes:
    attrs = _uleb(4) + _uleb(16) + _uleb(5) + arch.encode() + b"\0" + _uleb(6) + _uleb(1)
    sub = _uleb(1) + (4 + len(attrs) + 1).to_bytes(4, "little") + attrs
    body = vendor + b"\0" + sub
    return b"A" + (4 + len(body)).to_bytes(4, "little") + body


def test_the_attribute_format_is_read_by_hand():
    tags = parse_attributes(section("rv64gc_zba"))
    assert tags == {4: 16, 5: "rv64gc_zba", 6: 1}
    # another vendor's subsection is skipped, ours after it is read
    other = section("ignored", vendor=b"gnu")[1:]
    assert parse_attributes(b"A" + other + section("rv64gcv")[1:])[5] == "rv64gcv"


def test_every_truncation_of_the_section_is_bad_input_or_a_prefix():
    data = section("rv64i2p1_m2p0_a2p1_f2p2_d2p2_c2p0_zicsr2p0")
    for n in range(len(data)):
        try:
            parse_attributes(data[:n])
        except BadInput:
            continue


# --- real binaries ------------------------------------------------------------------

def test_gcc_binaries_carry_their_march(isa_programs):
    gc = read_attributes(isa_programs["c-rv64gc"].read_bytes())
    gcv = read_attributes(isa_programs["c-rv64gcv"].read_bytes())
    assert isinstance(gc, Attributes) and gc.arch.startswith("rv64i") and gc.producer.startswith("GCC:")
    assert {"m", "a", "f", "d", "c", "zicsr", "zifencei"} <= gc.extensions and "v" not in gc.extensions
    assert "v" in gcv.extensions and "zvl128b" in gcv.extensions
    assert profiles.lowest_profile(gc.extensions).name == "rva20u64"
    assert profiles.lowest_profile(gcv.extensions).name == "rva23u64"
    assert profiles.beyond(gcv.extensions, profiles.profile("rva20")) == ("v",)


def test_go_binaries_record_goriscv64_and_carry_no_attributes(isa_programs):
    for p in ("rva20u64", "rva22u64", "rva23u64"):
        data = isa_programs[f"go-{p}"].read_bytes()
        assert read_attributes(data) is None          # Go's linker writes no .riscv.attributes
        info = read_buildinfo(data)
        assert info is not None and info.goriscv64 == p
        assert profiles.go_profile(info.goriscv64).name == p


def test_not_riscv_is_none():
    assert read_attributes(Path("/bin/true").read_bytes()) is None     # the host's own ELF
    assert read_attributes(b"#!/bin/sh\n") is None


def test_a_scribbled_attribute_section_is_bad_input(isa_programs):
    data = bytearray(isa_programs["c-rv64gc"].read_bytes())
    at = bytes(data).find(b"riscv\0")
    assert at > 0
    data[at - 4:at] = (0x7FFFFFFF).to_bytes(4, "little")        # the subsection's length
    with pytest.raises(BadInput):
        read_attributes(bytes(data))


# --- what qemu-user 7.2 does with them (measured) ----------------------------------------

@pytest.mark.parametrize("cpu", RV64GC_CPUS)
def test_on_an_rv64gc_cpu_only_the_baseline_builds_run(isa_programs, cpu):
    rc = {name: run_on(path, cpu)[0] for name, path in isa_programs.items()}
    assert rc == {"go-rva20u64": 0, "c-rv64gc": 0,
                  "go-rva22u64": 132, "go-rva23u64": 132, "c-rv64gcv": 132}, rc


def test_the_vector_build_really_executes_vector_instructions(isa_programs):
    assert run_on(isa_programs["c-rv64gcv"], VECTOR_CPU) == (0, "vector 2 4 6 8\n")
    assert run_on(isa_programs["c-rv64gc"], "sifive-u54") == (0, "scalar 2 4 6 8\n")
    # qemu 7.2's rv64 with V and B runs this rva22u64/rva23u64 probe too (it uses no extension 7.2 lacks)
    assert run_on(isa_programs["go-rva22u64"], VECTOR_CPU)[0] == 0


def test_hostile_files_raise_only_bad_input(isa_programs):
    import random
    data = isa_programs["c-rv64gcv"].read_bytes()
    at = data.find(b"A", data.find(b"riscv\0") - 8)
    rng = random.Random(27)
    cases = [data[:n] for n in (20, 64, 100, 1000, len(data) // 2, len(data) - 1)]
    for _ in range(200):
        b = bytearray(data)
        for _ in range(4):
            b[at + rng.randrange(0, 200)] = rng.randrange(256)
        cases.append(bytes(b))
    for case in cases:
        try:
            read_attributes(case)
        except BadInput:
            pass
