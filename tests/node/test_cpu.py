"""Board CPU facts from /proc/cpuinfo and hwcaps, on recorded boards
(tests/fixtures/boards, each file's header says where its facts come from)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from archport.errors import BadInput
from archport.node.cpu import hwcap_letters, parse_auxv, parse_auxv_text, parse_auxv_words, parse_cpuinfo

BOARDS = Path(__file__).resolve().parents[1] / "fixtures" / "boards"


def board(name: str):
    aux = BOARDS / f"{name}.auxv"
    hwcap = parse_auxv_text(aux.read_text()) if aux.exists() else None
    return parse_cpuinfo((BOARDS / f"{name}.cpuinfo").read_text(), hwcap)


def test_jh7110_is_rv64gc_with_zba_zbb_no_vector():
    c = board("jh7110")
    assert c.profile == "rva20u64" and not c.has_vector and c.mmu == "sv39" and c.harts == 4
    assert {"zba", "zbb"} <= c.extensions and "zbs" not in c.extensions
    assert (c.mvendorid, c.marchid, c.uarch) == (0x489, 0x8000000000000007, "sifive,u74-mc")
    assert c.hwcap == 0x112D and not c.notes


def test_th1520_vendor_kernel_v_is_the_draft_vector():
    c = board("th1520")
    assert c.isa == "rv64imafdcvsu" and c.hwcap == 0x20112D
    assert not c.has_vector and "xtheadvector" in c.extensions
    assert c.profile == "rva20u64" and c.mvendorid is None
    assert any("cpu-vector 0.7.1" in n for n in c.notes)


def test_k1_is_rva22_with_rvv_1_0():
    c = board("k1")
    assert c.profile == "rva22u64" and c.has_vector and c.harts == 8
    assert c.uarch == "Spacemit(R) X60" and c.mvendorid == 0x710
    d = c.to_dict()
    assert d["profile"] == "rva22u64" and d["vector"] is True and d["mvendorid"] == "0x710"


def test_sg2042_thead_ids_turn_v_into_xtheadvector():
    c = board("sg2042")
    assert c.harts == 64 and (c.mvendorid, c.marchid) == (0x5B7, 0)
    assert not c.has_vector and "xtheadvector" in c.extensions and c.profile == "rva20u64"
    assert any("0x5b7" in n for n in c.notes)


def test_hwcap_decides_the_single_letters():
    text = "processor\t: 0\nhart\t\t: 0\nisa\t\t: rv64imafdcv_zba\nmmu\t\t: sv48\n"
    assert parse_cpuinfo(text).has_vector
    c = parse_cpuinfo(text, hwcap=0x112D)        # the kernel left V out: it cannot be used
    assert not c.has_vector and "zba" in c.extensions and c.mmu == "sv48"
    assert any("lacks v" in n for n in c.notes)


def test_harts_that_differ_share_only_what_all_have():
    text = ("processor\t: 0\nhart\t\t: 0\nisa\t\t: rv64imafdcv\n\n"
            "processor\t: 1\nhart\t\t: 1\nisa\t\t: rv64imafdc\n")
    c = parse_cpuinfo(text)
    assert not c.has_vector and c.harts == 2 and c.isa == "rv64imafdc"


def test_auxv_bytes_and_text():
    raw = struct.pack("<4Q", 6, 4096, 16, 0x20112D) + struct.pack("<2Q", 0, 0)
    assert parse_auxv(raw) == 0x20112D
    assert parse_auxv(struct.pack("<2Q", 0, 0)) is None
    assert parse_auxv_text("AT_PAGESZ:  4096\nAT_HWCAP:   0x112d\n") == 0x112D
    assert parse_auxv_text("nothing here") is None
    assert hwcap_letters(0x20112D) == frozenset("imafdcv")
    # what the live command prints: od's 64-bit words of /proc/self/auxv
    assert parse_auxv_words(" 0000000000000006 0000000000001000\n 0000000000000010 000000000020112d\n"
                            " 0000000000000000 0000000000000000\n") == 0x20112D
    with pytest.raises(BadInput):
        parse_auxv_words("od: /proc/self/auxv: Permission denied")


@pytest.mark.parametrize("text", ["", "processor : 0\nvendor_id : GenuineIntel\nflags : fpu\n",
                                  "processor\t: 0\nisa\t\t: rv32imac\n", "processor\t: 0\nisa\t\t: x86\n",
                                  "isa : rv64imafdc\nmvendorid : banana\n"])
def test_not_a_riscv64_cpuinfo_is_bad_input(text):
    with pytest.raises(BadInput):
        parse_cpuinfo(text)
