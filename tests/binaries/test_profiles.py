"""The profiles as data: RVA20U64 ⊂ RVA22U64 ⊂ RVA23U64, Go's GORISCV64 values,
and the closure that makes a need and a board comparable."""

from __future__ import annotations

import pytest

from archport.binaries.riscv import parse_isa
from archport.catalog import riscv as R
from archport.errors import BadInput


def exts(isa: str) -> tuple[str, ...]:
    return parse_isa(isa)[1]


def test_each_profile_adds_to_the_one_before_and_cites_its_source():
    data = R.load()
    assert [p.name for p in data.profiles] == ["rva20u64", "rva22u64", "rva23u64"]
    for lower, higher in zip(data.profiles, data.profiles[1:]):
        assert R.profile_extensions(lower) < R.profile_extensions(higher)
    for p in data.profiles:
        assert p.source.startswith("https://github.com/riscv/riscv-profiles/")
    assert "v" in R.profile("rva23").mandatory and "v" not in R.profile("rva22").mandatory
    assert {"zba", "zbb", "zbs"} <= R.profile("RVA22U64").mandatory


def test_profile_names_and_go_values():
    assert R.profile("rva22").name == R.profile("rva22u64").name == "rva22u64"
    with pytest.raises(BadInput):
        R.profile("rva99")
    assert R.go_profile("").name == "rva20u64"            # no GORISCV64 recorded: Go's default
    assert R.go_profile("rva23u64").name == "rva23u64"
    assert R.go_profile("rva30u64") is None


@pytest.mark.parametrize("isa,lowest", [
    ("rv64gc", "rva20u64"),
    ("rv64imafdc_zicsr_zifencei", "rva20u64"),
    ("rv64gc_zba_zbb", "rva22u64"),
    ("rv64gcb_zicbom_zicboz_zfhmin", "rva22u64"),
    ("rv64gc_zihintpause_zicbop", "rva20u64"),           # hints never trap: they decide nothing
    ("rv64gcv", "rva23u64"),
    ("rv64gc_zicond", "rva23u64"),
    ("rv64gc_xtheadba", None),                          # vendor extensions are in no profile
    ("rv64gc_zvkned", None),
])
def test_the_lowest_profile_that_runs_a_need(isa, lowest):
    p = R.lowest_profile(exts(isa))
    assert (p.name if p else None) == lowest


@pytest.mark.parametrize("board,met", [
    ("rv64imafdc", "rva20u64"),                          # an old kernel's line: Linux adds zicsr/zifencei/zicntr/zihpm
    ("rv64imafdc_zicntr_zicsr_zifencei_zihpm_zba_zbb", "rva20u64"),   # JH7110: no Zbs, no Zicbom
    ("rv64imafd", None),                                 # no C: below RVA20U64
    ("rv64imafdcv_zicbom_zicboz_zicntr_zicsr_zifencei_zihpm_zfhmin_zba_zbb_zbs", "rva22u64"),
    ("rv64imafdcbv_zicbom_zicboz_zicntr_zicond_zicsr_zifencei_zihpm_zfhmin_zfa_zcb_zcmop_zimop_zawrs"
     "_zvfhmin_zvbb", "rva23u64"),
])
def test_the_profile_a_board_meets(board, met):
    p = R.met_profile(exts(board))
    assert (p.name if p else None) == met


def test_missing_names_what_a_need_lacks_without_what_it_implies():
    jh7110 = exts("rv64imafdc_zba_zbb")
    assert R.missing(exts("rv64gcv"), jh7110) == ("v",)
    assert R.missing(R.profile("rva22").mandatory, jh7110) == ("zbs", "zfhmin", "zicbom", "zicboz")
    assert R.missing(exts("rv64gc"), exts("rv64imafdc")) == ()


def test_a_thead_vendor_v_is_the_draft_vector():
    have, used = R.apply_quirks(exts("rv64imafdcv"), 0x5B7, 0)
    assert "v" not in have and "xtheadvector" in have and used
    assert R.apply_quirks(exts("rv64imafdcv"), 0x5B7, 0x8000000000000001)[0] == frozenset(exts("rv64imafdcv"))


def test_broken_data_is_a_catalog_error():
    from archport.catalog import CatalogError
    text = R.resources.files("archport.catalog").joinpath("riscv.toml").read_text("utf-8")
    with pytest.raises(CatalogError):
        R.parse(text.replace('source = "https://github.com/riscv/riscv-profiles/blob/main/src/profiles.adoc"',
                             'source = "somewhere"', 1))
    with pytest.raises(CatalogError):
        R.parse(text.replace('default = "rva20u64"', 'default = "rva21u64"'))
